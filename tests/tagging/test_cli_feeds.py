"""`wirewatch tag` on a feed file tags every entry; an XML-declared HTML page does not crash."""

from wirewatch.pipelines.cli import main

FEED = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>t</title>
<item><title>Mexico and the United States resume immigration talks</title><guid>1</guid>
<description>Officials met in Mexico City.</description></item>
<item><title>Chile earthquake</title><guid>2</guid><description>A strong quake.</description></item>
</channel></rss>"""


def test_every_entry_of_a_feed_is_tagged(tmp_path, capsys):
    feed = tmp_path / "wire.xml"
    feed.write_text(FEED)
    assert main(["tag", "--json", str(feed)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2
    assert '"id": "mexico"' in lines[0] and '"id": "chile"' in lines[1]


def test_html_with_an_xml_declaration(tmp_path, capsys):
    page = tmp_path / "page.html"
    page.write_text(
        '<?xml version="1.0" encoding="utf-8"?><html><body><h1>Talks in Mexico</h1>'
        "<p>Ministers met.</p></body></html>"
    )
    assert main(["tag", str(page)]) == 0
    assert "Talks in Mexico" in capsys.readouterr().out
