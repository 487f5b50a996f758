"""Small feeds of every accepted format, written for the tests (no test reads /work/shared)."""

RSS20 = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel><title>Wire &amp; World</title><link>https://news.example.com/</link>
<description>d</description><language>en-GB</language><ttl>30</ttl>
<item><title>Talks resume in &lt;b&gt;Mexico&lt;/b&gt;</title>
<link>https://news.example.com/a/1?utm_source=rss&amp;id=7#top</link>
<description>&lt;p&gt;First&lt;br/&gt;line &amp;amp;   more&lt;/p&gt;</description>
<guid isPermaLink="false">wire-1</guid><pubDate>Tue, 14 Feb 2017 10:00:00 +0100</pubDate>
<dc:creator>Ana Ruiz</dc:creator><category>Politics</category><category>Trade</category></item>
<item><title>Relative link</title><link>/a/2</link><guid isPermaLink="false">wire-2</guid>
<description>Plain text</description><pubDate>Tue, 14 Feb 2017 11:00:00 GMT</pubDate></item>
<item><title>No guid</title><link>https://news.example.com/a/3</link>
<description><![CDATA[<b>bold</b> caf\xc3\x83\xc2\xa9]]></description></item>
</channel></rss>"""

ATOM10 = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://atom.example.org/blog/">
<title>Atom blog</title><id>urn:uuid:feed</id><updated>2017-02-14T10:00:00Z</updated>
<link rel="alternate" href="https://atom.example.org/"/>
<entry><title type="html">Hello &amp;amp; welcome</title><id>tag:atom.example.org,2017:1</id>
<link rel="alternate" type="text/html" href="posts/1"/>
<updated>2017-02-14T10:00:00Z</updated><published>2017-02-14T09:00:00-05:00</published>
<author><name>Bo</name></author><category term="tech"/>
<summary type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>Some <em>xhtml</em></p></div></summary>
</entry>
<entry><title>Second</title><id>tag:atom.example.org,2017:2</id>
<link href="posts/2"/><updated>2017-02-15T10:00:00Z</updated>
<content type="html">&lt;p&gt;Content only&lt;/p&gt;</content></entry>
</feed>"""

ATOM03 = b"""<?xml version="1.0" encoding="utf-8"?>
<feed version="0.3" xmlns="http://purl.org/atom/ns#">
<title>Old atom</title><link rel="alternate" type="text/html" href="https://old.example.org/"/>
<modified>2005-01-01T00:00:00Z</modified>
<entry><title>Old entry</title><link rel="alternate" type="text/html" href="https://old.example.org/1"/>
<id>tag:old.example.org,2005:1</id><issued>2005-01-01T00:00:00Z</issued>
<modified>2005-01-01T00:00:00Z</modified><summary>Old summary</summary></entry>
</feed>"""

RSS10 = b"""<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
 xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel rdf:about="https://rdf.example.net/"><title>RDF site</title>
<link>https://rdf.example.net/</link><description>d</description></channel>
<item rdf:about="https://rdf.example.net/1"><title>RDF one</title>
<link>https://rdf.example.net/1</link><description>One</description>
<dc:date>2017-02-14T10:00:00Z</dc:date></item>
<item rdf:about="https://rdf.example.net/2"><title>RDF two</title>
<link>https://rdf.example.net/2</link></item>
</rdf:RDF>"""

RSS090 = b"""<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
 xmlns="http://my.netscape.com/rdf/simple/0.9/">
<channel><title>Ninety</title><link>https://ninety.example.com/</link><description>d</description></channel>
<item><title>Ninety one</title><link>https://ninety.example.com/1</link></item>
</rdf:RDF>"""

RSS091 = b"""<?xml version="1.0" encoding="ISO-8859-1"?>
<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN"
 "http://my.netscape.com/publish/formats/rss-0.91.dtd">
<rss version="0.91"><channel><title>Ninety-one</title><link>https://n91.example.com/</link>
<description>d</description><language>fr</language>
<item><title>Caf\xe9 cr\xe8me</title><link>https://n91.example.com/1</link>
<description>Un caf\xe9</description></item></channel></rss>"""

JSONFEED = b"""{"version": "https://jsonfeed.org/version/1.1", "title": "JSON news",
"home_page_url": "https://json.example.com/", "language": "en",
"items": [
 {"id": "j1", "url": "https://json.example.com/1?utm_medium=x", "title": "JSON one",
  "content_html": "<p>Hi &amp; bye</p>", "date_published": "2017-02-14T10:00:00+01:00",
  "authors": [{"name": "Cy"}], "tags": ["a", "b"]},
 {"id": 2, "url": "/2", "content_text": "Only text, no title here at all"},
 "not an object"
]}"""

ALL_XML = {
    "rss20": RSS20,
    "atom10": ATOM10,
    "atom03": ATOM03,
    "rss10": RSS10,
    "rss090": RSS090,
    "rss091n": RSS091,
}


def rss(*items: str, channel_extra: str = "") -> bytes:
    """An RSS 2.0 document around the given <item> strings."""
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T</title>'
        f"<link>https://t.example.com/</link><description>d</description>{channel_extra}"
        + "".join(items)
        + "</channel></rss>"
    ).encode("utf-8")


def item(guid: str, title: str = "Title", extra: str = "") -> str:
    return (
        f"<item><title>{title}</title><link>https://t.example.com/{guid}</link>"
        f'<guid isPermaLink="false">{guid}</guid><description>About {title}</description>'
        f"{extra}</item>"
    )
