import STIX
import Testing
@testable import WebUI

/// The HTML the pages build in Swift rather than in templates: every value from an object escaped, links only to
/// this node's pages and to http(s) URLs, timestamps shown readably only when they are timestamps.
@Suite struct HTMLTests {
    @Test func everySpecialCharacterIsEscapedAndNothingElseChanges() {
        #expect(HTML.escape(#"<script>alert("x" & 'y')</script>"#) == "&lt;script&gt;alert(&quot;x&quot; &amp; &#39;y&#39;)&lt;/script&gt;")
        #expect(HTML.escape("Kraken — ランサムウェア") == "Kraken — ランサムウェア")
        #expect(HTML.escape("") == "")
        #expect(HTML.escape("a\nb") == "a\nb")
        #expect(HTML.escape("a\n<b>", lineBreaks: true) == "a<br>&lt;b&gt;")
    }

    @Test func timestampsAreReadableAndAnythingElseIsEscapedText() {
        #expect(HTML.time("2026-05-01T12:00:00.123Z") == #"<time datetime="2026-05-01T12:00:00.123Z">2026-05-01 12:00:00.123 UTC</time>"#)
        #expect(HTML.time("2026-05-01T12:00:00Z<script>") == "2026-05-01T12:00:00Z&lt;script&gt;")
        #expect(HTML.time("2026-13-01T12:00:00Z") == "2026-13-01T12:00:00Z")
    }

    @Test func linksGoOnlyToObjectPagesOfIdentifiersAndToWebURLs() {
        #expect(HTML.objectLink("malware--0a0a0a0a-0000-4000-8000-000000000001", label: "<b>")
            == #"<a href="/ui/objects/malware--0a0a0a0a-0000-4000-8000-000000000001">&lt;b&gt;</a>"#)
        #expect(HTML.objectLink("javascript:alert(1)//--0a0a0a0a") == "javascript:alert(1)//--0a0a0a0a")
        #expect(HTML.value(.string("javascript:alert(1)"), key: "url") == "javascript:alert(1)")
        #expect(HTML.value(.string("https://example.org/a?b=1&c=2"), key: "url")
            == #"<a href="https://example.org/a?b=1&amp;c=2" rel="noopener noreferrer">https://example.org/a?b=1&amp;c=2</a>"#)
        #expect(HTML.value(.string("line one\n<i>two</i>"), key: "description") == "line one<br>&lt;i&gt;two&lt;/i&gt;")
    }

    @Test func labelsAndBadges() {
        #expect(HTML.label("valid_from") == "Valid from")
        #expect(HTML.markings(["marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003", "marking-definition--0a0a0a0a-0000-4000-8000-000000000009"])
            == #"<span class="tlp tlp-amber-strict">TLP:AMBER+STRICT</span> <span class="marking"><a href="/ui/objects/marking-definition--0a0a0a0a-0000-4000-8000-000000000009">marking</a></span>"#)
    }
}
