"""cli_main (``axoncl inspect``): the built-in MLP and a user's script.py:function."""

import json
import xml.etree.ElementTree as ET

from axoncl.inspect import cli_main


def test_builtin_mlp_writes_every_format(tmp_path, capsys):
    out = tmp_path / "out"
    status = cli_main(
        ["--out", str(out), "--format", "dot,svg,html,json,png", "--engine", "python"]
    )
    assert status == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["gradient_flow.png", "graph.dot", "graph.html", "graph.json", "graph.svg"]
    ET.parse(out / "graph.svg")
    data = json.loads((out / "graph.json").read_text())
    params = [n["name"] for n in data["nodes"] if n["is_parameter"]]
    assert params == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias", "fc3.weight", "fc3.bias"]
    assert all(n["grad"] is not None for n in data["nodes"] if n["is_parameter"])
    printed = capsys.readouterr().out
    assert "healthy: nothing flagged" in printed and "wrote" in printed


SCRIPT = """
import numpy as np
from axoncl import Variable


def model():
    w = Variable(np.ones((3, 2)), requires_grad=True)
    x = Variable(np.arange(6.0).reshape(2, 3))
    return (x @ w).tanh().sum(), {w: "w"}
"""


def test_user_script_function(tmp_path):
    script = tmp_path / "my_model.py"
    script.write_text(SCRIPT)
    out = tmp_path / "graphs"
    assert cli_main(["--script", f"{script}:model", "--out", str(out), "--format", "json,dot"]) == 0
    data = json.loads((out / "graph.json").read_text())
    assert [n["op"] for n in data["nodes"]] == ["leaf", "matmul", "tanh", "sum"]
    assert data["nodes"][0]["name"] == "w" and data["nodes"][0]["grad"] is not None
    assert (out / "graph.dot").read_text().startswith("digraph")


def test_errors_return_non_zero(tmp_path, capsys):
    assert cli_main(["--format", "gif", "--out", str(tmp_path)]) == 2
    assert cli_main(["--script", f"{tmp_path}/missing.py:f", "--out", str(tmp_path)]) == 1
    assert cli_main(["--script", "no_function_given", "--out", str(tmp_path)]) == 1
    assert cli_main(["--no-such-option"]) == 2
    assert "axoncl inspect:" in capsys.readouterr().err
