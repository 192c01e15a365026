// errors.h: device-side errors, like CUDA's device asserts. A kernel that meets an invalid value
// (an index out of range, a class target out of range) calls report_error instead of silently
// clamping. The first failing work-item claims the device's error flag with an atomic and writes
// what went wrong; the host reads the flag at its next blocking read or synchronize() and raises
// (backends/opencl/device.py, Device.check_errors). Layout of the flag buffer (8 longs):
//   ((int *)flag)[0]  claim: 0 while no error, else the error code (first writer wins)
//   flag[1] op id (Device.error_op)   flag[2] offending value   flag[3] flat position
//   flag[4] bound (axis length or number of classes)
#ifndef AXONCL_ERRORS_H
#define AXONCL_ERRORS_H

#define ERROR_INDEX 1   // index out of bounds for an axis
#define ERROR_TARGET 2  // class target out of bounds for the number of classes

static inline void report_error(__global long *flag, const int code, const long op,
                                const long value, const long position, const long bound) {
    if (atomic_cmpxchg((volatile __global int *)flag, 0, code) == 0) {
        flag[1] = op;
        flag[2] = value;
        flag[3] = position;
        flag[4] = bound;
    }
}

#endif
