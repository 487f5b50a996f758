import json
import subprocess
import sys

from wirewatch.pipelines.cli import main

SEED = """U.S. and Mexican officials meet in Mexico City

Secretary of State Rex Tillerson and Homeland Security Secretary John Kelly met Mexican Foreign
Affairs Minister Luis Videgaray. Kelly said there would be no mass deportation. Videgaray said
immigration policy can't be unilateral, and President Enrique Pena Nieto agreed.
"""


def test_tag_plain_text_prints_topics_and_entities(shipped_config_path, tmp_path, capsys):
    path = tmp_path / "story.txt"
    path.write_text(SEED)
    assert main(["tag", "--config", str(shipped_config_path), str(path)]) == 0
    out = capsys.readouterr().out
    assert "immigration" in out and "john-f-kelly" in out and "[John Kelly, Kelly]" in out


def test_tag_json_lines_for_html_and_json_inputs(shipped_config_path, tmp_path, capsys):
    html = tmp_path / "story.html"
    html.write_text(
        "<html><head><title>T</title><script>var Kelly;</script></head><body>"
        "<h1>Tillerson in Mexico City</h1><p>Rex Tillerson met officials on "
        "immigration and deportations.</p></body></html>"
    )
    doc = tmp_path / "story.json"
    doc.write_text(json.dumps({"title": "Putin talks", "summary": "<p>Vladimir Putin spoke.</p>"}))
    assert main(["tag", "--json", "--config", str(shipped_config_path), str(html), str(doc)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["title"] for line in lines] == ["Tillerson in Mexico City", "Putin talks"]
    assert {e["id"] for e in lines[0]["entities"]} == {"rex-tillerson", "mexico-city"}
    assert lines[0]["topics"][0]["evidence"]
    assert [e["id"] for e in lines[1]["entities"]] == ["vladimir-putin"]


SMALL_CONFIG = """\
taxonomy:
  - {id: politics, label: Politics, terms: [minister, government]}
entities:
  - {id: mexico-city, name: Mexico City, type: PLACE}
  - {id: mexico, name: Mexico, type: PLACE}
"""


def small_config(tmp_path):
    path = tmp_path / "small.yaml"
    path.write_text(SMALL_CONFIG)
    return path


def test_unreadable_input_is_a_partial_failure(tmp_path, capsys):
    good = tmp_path / "good.txt"
    good.write_text("Mexico\nbody")
    empty = tmp_path / "empty.txt"
    empty.write_text("  ")
    code = main(
        [
            "tag",
            "--json",
            "--config",
            str(small_config(tmp_path)),
            str(good),
            str(empty),
            str(tmp_path / "missing.txt"),
        ]
    )
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 1
    assert [("error" in line) for line in lines] == [False, True, True]


def test_bad_config_exits_2(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("taxonomy:\n  - id: x\n    label: X\n    termz: [a]\n")
    assert main(["tag", "--config", str(bad), "-"]) == 2
    assert "termz" in capsys.readouterr().err


def test_tag_command_does_not_import_beam(tmp_path):
    code = (
        "import sys, io; sys.stdin = io.StringIO('Mexico City news'); "
        "from wirewatch.pipelines.cli import main; rc = main(['tag', '--config', "
        f"{str(small_config(tmp_path))!r}]); "
        "assert 'apache_beam' not in sys.modules, 'beam imported'; sys.exit(rc)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "mexico-city" in result.stdout
