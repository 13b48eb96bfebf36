import DaxPinXML
import Foundation
import Testing

@testable import DaxPinCore

/// The tree, or the problem's one line.
func parsed(_ text: String) -> Result<MarkupElement, CheckProblem> { parsed(Array(text.utf8)) }

func parsed(_ bytes: [UInt8]) -> Result<MarkupElement, CheckProblem> {
  Result { () throws(CheckProblem) in try DomainXML.parse(bytes) }
}

/// The message a document is refused with, or nil if it parses.
func refusal(_ text: String) -> String? { refusal(Array(text.utf8)) }

func refusal(_ bytes: [UInt8]) -> String? {
  switch parsed(bytes) {
  case .success: nil
  case .failure(let p): p.description
  }
}

@Suite("DaxPinXML: a well-formedness-checking XML 1.0 parser in plain Swift")
struct DomainXMLParserTests {
  @Test func predefinedEntitiesAndCharacterReferencesAreDecoded() throws {
    let root = try DomainXML.parse(Array("<r a='&lt;&gt;&amp;&apos;&quot;' b=\"&#65;&#x42;&#x1F600;&#233;\">&lt;p&gt; &amp; &#xe9;&#10;&#x263a;</r>".utf8))
    #expect(root == MarkupElement("r", ["a": "<>&'\"", "b": "AB😀é"], text: "<p> & é\n☺"))
  }

  @Test(arguments: [
    ("<r>&#0;</r>", "not well-formed XML at line 1, column 4: &#0; is not an XML character (U+0)"),
    ("<r>&#x1F;</r>", "not well-formed XML at line 1, column 4: &#x1F; is not an XML character (U+1F)"),
    ("<r>&#xD800;</r>", "not well-formed XML at line 1, column 4: &#xD800; is not an XML character (U+D800)"),
    ("<r>&#xFFFE;</r>", "not well-formed XML at line 1, column 4: &#xFFFE; is not an XML character (U+FFFE)"),
    ("<r>&#x110000;</r>", "not well-formed XML at line 1, column 4: &#x110000; is not an XML character (beyond U+10FFFF)"),
    ("<r>&#99999999999999999999;</r>", "not well-formed XML at line 1, column 4: &#99999999999999999999; is not an XML character (beyond U+10FFFF)"),
    ("<r>&#;</r>", "not well-formed XML at line 1, column 4: a character reference &# that is not &#DIGITS; or &#xHEX;"),
    ("<r>&#x;</r>", "not well-formed XML at line 1, column 4: a character reference &#x that is not &#DIGITS; or &#xHEX;"),
    ("<r>&#12a;</r>", "not well-formed XML at line 1, column 4: a character reference &#12 that is not &#DIGITS; or &#xHEX;"),
    ("<r>&#X41;</r>", "not well-formed XML at line 1, column 4: a character reference &# that is not &#DIGITS; or &#xHEX;"),
    ("<r>&nbsp;</r>", "not well-formed XML at line 1, column 4: &nbsp; is not one of XML's five predefined entities (domain XML declares none)"),
    ("<r>&amp</r>", "not well-formed XML at line 1, column 4: &amp not closed by ';'"),
    ("<r>a & b</r>", "not well-formed XML at line 1, column 6: '&' not followed by a reference (write &amp;)"),
    ("<r a='&bogus;'/>", "not well-formed XML at line 1, column 7: &bogus; is not one of XML's five predefined entities (domain XML declares none)"),
  ])
  func badReferencesAreRefused(_ xml: String, _ message: String) {
    #expect(refusal(xml) == message)
  }

  @Test func cdataSectionsAreTextAsWritten() throws {
    let root = try DomainXML.parse(Array("<r>a<![CDATA[<b>&amp;</b> ]]]>c<![CDATA[]]><x/>d</r>".utf8))
    #expect(root == MarkupElement("r", text: "a<b>&amp;</b> ]cd", children: [MarkupElement("x")]))
    #expect(refusal("<r><![CDATA[open</r>") == "not well-formed XML at line 1, column 4: CDATA section not closed (no ]]> before the end of input)")
    #expect(refusal("<r>a]]>b</r>") == "not well-formed XML at line 1, column 5: ']]>' in text outside a CDATA section (write ]]&gt;)")
    #expect(refusal("<![CDATA[x]]><r/>") == "not well-formed XML at line 1, column 1: '<' not followed by an element name")
  }

  @Test func commentsAndProcessingInstructionsAreSkipped() throws {
    let xml = """
      <?xml version="1.0" encoding="UTF-8" standalone='yes'?>
      <!-- head - with a dash -->
      <?xml-stylesheet href="x.xsl"?>
      <r>a<!-- inside <b> & </b> -->b<!---->c<?pi?>d<?pi  data ?>e</r>
      <!-- tail --><?end?>\n
      """
    #expect(try DomainXML.parse(Array(xml.utf8)) == MarkupElement("r", text: "abcde"))
    #expect(refusal("<r><!-- a -- b --></r>") == "not well-formed XML at line 1, column 11: '--' inside a comment (opened at line 1, column 4)")
    #expect(refusal("<r><!-- a ---></r>") == "not well-formed XML at line 1, column 11: '--' inside a comment (opened at line 1, column 4)")
    #expect(refusal("<r><?xml version='1.0'?></r>") == "not well-formed XML at line 1, column 4: <?xml ...?> is allowed only at the very start of the document")
    #expect(refusal(" <?xml version='1.0'?><r/>") == "not well-formed XML at line 1, column 2: <?xml ...?> is allowed only at the very start of the document")
    #expect(refusal("<r><?pi") == "not well-formed XML at line 1, column 4: <?pi not closed (no ?> before the end of input)")
    #expect(refusal("<r><? pi ?></r>") == "not well-formed XML at line 1, column 4: '<?' not followed by a processing instruction target")
  }

  @Test func anUnterminatedCommentIsRefusedWhereItOpens() {
    #expect(refusal("<domain>\n  <!-- memory\n</domain>") == "not well-formed XML at line 2, column 3: comment not closed (no --> before the end of input)")
    #expect(refusal("<domain/><!-- tail -") == "not well-formed XML at line 1, column 10: comment not closed (no --> before the end of input)")
    #expect(refusal("<!--") == "not well-formed XML at line 1, column 1: comment not closed (no --> before the end of input)")
  }

  @Test func attributesInEitherQuoteWithGreaterThanInside() throws {
    let xml = "<r a=\"x>y\" b='it\"s' c=\"it's\" d = 'sp' e=\"t\tn\nc\r\nr\rend\" f='&#9;&#10;&#13;' g=''/>"
    #expect(try DomainXML.parse(Array(xml.utf8)) == MarkupElement(
      "r", ["a": "x>y", "b": "it\"s", "c": "it's", "d": "sp", "e": "t n c r end", "f": "\t\n\r", "g": ""]))
    #expect(refusal("<r a='1' a=\"2\"/>") == "not well-formed XML at line 1, column 10: <r>: attribute a given twice")
    #expect(refusal("<r a='1'b='2'/>") == "not well-formed XML at line 1, column 9: <r>: no white space before attribute b")
    #expect(refusal("<r a=1/>") == "not well-formed XML at line 1, column 6: <r a=>: the value is not quoted")
    #expect(refusal("<r a/>") == "not well-formed XML at line 1, column 5: <r>: '=' expected after attribute a")
    #expect(refusal("<r a='x<y'/>") == "not well-formed XML at line 1, column 8: '<' in the value of a in <r> (write &lt;)")
    #expect(refusal("<r a='open/>") == "not well-formed XML at line 1, column 6: <r a=>: the value is not closed (no matching quote)")
    #expect(refusal("<r a='1' / >") == "not well-formed XML at line 1, column 10: '/' not followed by '>' in the start tag <r>")
    #expect(refusal("<r a='1'") == "not well-formed XML at line 1, column 1: the start tag <r> not closed (no >)")
    #expect(refusal("<r 1a='1'/>") == "not well-formed XML at line 1, column 4: '1' in the start tag <r>")
  }

  @Test func textIsLineEndNormalisedAndKeptAroundChildren() throws {
    let root = try DomainXML.parse(Array("<r>\r\n a\rb<c>x</c>\n y \r</r>".utf8))
    #expect(root == MarkupElement("r", text: "\n a\nb\n y \n", children: [MarkupElement("c", text: "x")]))
    #expect(root.value == "a\nb\n y")
  }

  @Test func mismatchedEndTags() {
    #expect(refusal("<domain><name>x</nam></domain>") == "not well-formed XML at line 1, column 16: </nam> does not close <name> (opened at line 1, column 9)")
    #expect(refusal("<domain>\n  <name>x</domain>") == "not well-formed XML at line 2, column 10: </domain> does not close <name> (opened at line 2, column 3)")
    #expect(refusal("<domain></domain></domain>") == "not well-formed XML at line 1, column 18: </domain> closes nothing: the root element <domain> is already closed")
    #expect(refusal("<a></a >") == nil)
    #expect(refusal("<a></ a>") == "not well-formed XML at line 1, column 4: '</' not followed by an element name")
    #expect(refusal("<a></a b>") == "not well-formed XML at line 1, column 8: 'b' in the end tag </a>")
    #expect(refusal("<domain><name>x</name>") == "not well-formed XML at line 1, column 23: end of input inside <domain> (opened at line 1, column 1); no </domain>")
  }

  @Test func exactlyOneRootAndNothingButMiscAfterIt() {
    #expect(refusal("<a/><b/>") == "not well-formed XML at line 1, column 5: a second root element <b>: a document has one (<a> at line 1, column 1)")
    #expect(refusal("<a/>\n<a/>") == "not well-formed XML at line 2, column 1: a second root element <a>: a document has one (<a> at line 1, column 1)")
    #expect(refusal("<a/>trailing") == "not well-formed XML at line 1, column 5: 't' after the root element </a>: only comments, processing instructions and white space may follow it")
    #expect(refusal("text<a/>") == "not well-formed XML at line 1, column 1: text before the root element")
    #expect(refusal("") == "not well-formed XML at line 1, column 1: no root element")
    #expect(refusal(" \n\t<!-- only -->\n") == "not well-formed XML at line 3, column 1: no root element")
    #expect(refusal("<a/><!DOCTYPE a>") == "not well-formed XML at line 1, column 5: <!DOCTYPE> after the root element")
    #expect(refusal("<a/>\n<!-- ok -->\n<?pi ok?>\n") == nil)
  }

  @Test func invalidUTF8IsRefusedWithItsBytes() {
    func bytes(_ prefix: String, _ raw: [UInt8], _ suffix: String = "</r>") -> [UInt8] { Array(prefix.utf8) + raw + Array(suffix.utf8) }
    #expect(refusal(bytes("<r>é ", [0xC3, 0x28])) == "invalid UTF-8 at line 1, column 6: 0xC3 0x28: not a UTF-8 sequence; domain XML is UTF-8")
    #expect(refusal(bytes("<r>\n", [0xFF])) == "invalid UTF-8 at line 2, column 1: byte 0xFF (never appears in UTF-8); domain XML is UTF-8")
    #expect(refusal(bytes("<r>", [0x80])) == "invalid UTF-8 at line 1, column 4: byte 0x80 (a continuation byte with nothing to continue); domain XML is UTF-8")
    #expect(refusal(bytes("<r>", [0xC0, 0x80])) == "invalid UTF-8 at line 1, column 4: byte 0xC0 (never appears in UTF-8); domain XML is UTF-8")
    #expect(refusal(bytes("<r>", [0xE0, 0x80, 0x80])) == "invalid UTF-8 at line 1, column 4: 0xE0 0x80: not a UTF-8 sequence; domain XML is UTF-8")
    #expect(refusal(bytes("<r>", [0xED, 0xA0, 0x80])) == "invalid UTF-8 at line 1, column 4: 0xED 0xA0: not a UTF-8 sequence; domain XML is UTF-8")
    #expect(refusal(bytes("<r>", [0xF4, 0x90, 0x80, 0x80])) == "invalid UTF-8 at line 1, column 4: 0xF4 0x90: not a UTF-8 sequence; domain XML is UTF-8")
    #expect(refusal(bytes("<r>", [0xF0, 0x9F, 0x98], "")) == "invalid UTF-8 at line 1, column 4: 0xF0 0x9F 0x98: a UTF-8 sequence cut off by the end of input")
    #expect(refusal(bytes("<r a='", [0xE2, 0x98, 0x41], "'/>")) == "invalid UTF-8 at line 1, column 7: 0xE2 0x98 0x41: not a UTF-8 sequence; domain XML is UTF-8")
    #expect(refusal(bytes("<r>", [0x01])) == "not well-formed XML at line 1, column 4: U+0001 (a control character) is not an XML character")
    #expect(refusal(bytes("<r>", [0xEF, 0xBF, 0xBF])) == "not well-formed XML at line 1, column 4: U+FFFF is not an XML character")
    #expect(refusal([0xFF, 0xFE] + Array("<r/>".utf8)) == "invalid UTF-8 at line 1, column 1: a UTF-16 byte order mark: domain XML is read as UTF-8 only")
  }

  @Test func aByteOrderMarkAndMultibyteNamesAndColumns() throws {
    let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
    #expect(try DomainXML.parse(bom + Array("<?xml version='1.0'?><r/>".utf8)) == MarkupElement("r"))
    #expect(try DomainXML.parse(Array("<größe ä·b='ü'>x</größe>".utf8)) == MarkupElement("größe", ["ä·b": "ü"], text: "x"))
    // Columns count characters, not bytes: 'ü' and '😀' are one column each.
    #expect(refusal("<r>\r\nü😀<x></r>") == "not well-formed XML at line 2, column 6: </r> does not close <x> (opened at line 2, column 3)")
    #expect(refusal("<·/>") == "not well-formed XML at line 1, column 1: '<' not followed by an element name")
  }

  @Test func theXMLDeclaration() {
    #expect(refusal("<?xml version='1.0' encoding='utf-8'?><r/>") == nil)
    #expect(refusal("<?xml version=\"1.1\"?><r/>") == nil)
    #expect(refusal("<?xml version='2.0'?><r/>") == "not well-formed XML at line 1, column 16: version='2.0': not XML 1.x")
    #expect(refusal("<?xml encoding='UTF-8'?><r/>") == "not well-formed XML at line 1, column 7: the <?xml declaration names its version first")
    #expect(refusal("<?xml version='1.0' encoding='ISO-8859-1'?><r/>") == "not well-formed XML at line 1, column 31: encoding='ISO-8859-1': domain XML is read as UTF-8 only")
    #expect(refusal("<?xml version='1.0' standalone='maybe'?><r/>") == "not well-formed XML at line 1, column 33: standalone='maybe': not yes or no")
    #expect(refusal("<?xml version='1.0' foo='1'?><r/>") == "not well-formed XML at line 1, column 21: foo in the <?xml declaration: only version, encoding and standalone, in that order")
    #expect(refusal("<?xml version='1.0'") == "not well-formed XML at line 1, column 1: <?xml declaration not closed (no ?>)")
  }

  @Test func aDoctypeIsReadOnlyWhenItDeclaresNothing() {
    #expect(refusal("<!DOCTYPE domain>\n<domain/>") == nil)
    #expect(refusal("<!DOCTYPE domain SYSTEM 'domain.dtd'><domain/>") == nil)
    #expect(refusal("<!DOCTYPE domain PUBLIC \"-//libvirt//DTD Domain//EN\" \"http://example/domain.dtd\" []><domain/>") == nil)
    #expect(refusal("<!DOCTYPE domain [<!ATTLIST domain type CDATA 'kvm>'>]><domain/>")
      == "<!DOCTYPE domain [<!ATTLIST>]>: domain XML declares nothing in a DTD (virsh dumpxml writes none); not read")
    #expect(refusal("<!DOCTYPE domain [<!-- x --><!ELEMENT domain ANY><!ENTITY % pe SYSTEM 'x'>]><domain/>")
      == "<!ENTITY pe>: domain XML declares no entities (virsh dumpxml writes none); not read")
    #expect(refusal("<!DOCTYPE domain [%pe;]><domain/>") == "<!DOCTYPE domain [%pe;]>: domain XML declares nothing in a DTD (virsh dumpxml writes none); not read")
    #expect(refusal("<!DOCTYPE domain [<!ELEMENT domain ANY>") == "not well-formed XML at line 1, column 18: the internal subset of <!DOCTYPE domain> not closed (no ])")
    #expect(refusal("<!DOCTYPE>") == "not well-formed XML at line 1, column 10: <!DOCTYPE names no root element")
    #expect(refusal("<!DOCTYPE a><!DOCTYPE a><a/>") == "not well-formed XML at line 1, column 13: a second <!DOCTYPE>")
  }

  @Test func nestingDeeperThanTheLimitIsRefused() throws {
    let limit = DomainXML.maxDepth
    #expect(limit == 256)
    func nested(_ depth: Int) -> String { String(repeating: "<e>", count: depth) + String(repeating: "</e>", count: depth) }
    var tree = try DomainXML.parse(Array(nested(limit).utf8))
    var depth = 1
    while let child = tree.children.first {
      depth += 1
      tree = child
    }
    #expect(depth == limit)
    #expect(refusal(nested(limit + 1)) == "XML nested too deep at line 1, column 769: <e> would be element 257 deep; at most 256 are read")
    // A hostile document that only opens elements is refused at the limit, not read to its end.
    #expect(refusal(String(repeating: "<e>", count: 1_000_000)) == "XML nested too deep at line 1, column 769: <e> would be element 257 deep; at most 256 are read")
    #expect(refusal(String(repeating: "<e/>", count: 100_000) + "") == "not well-formed XML at line 1, column 5: a second root element <e>: a document has one (<e> at line 1, column 1)")
  }

  @Test func attributesPastTheLimitAreRefused() throws {
    func element(_ count: Int) -> String { "<r" + (0..<count).map { " a\($0)='\($0)'" }.joined() + "/>" }
    #expect(try DomainXML.parse(Array(element(DomainXML.maxAttributes).utf8)).attributes.count == 256)
    let message = try #require(refusal(element(DomainXML.maxAttributes + 1)))
    #expect(message.hasPrefix("too many XML attributes at line 1, column "))
    #expect(message.hasSuffix(": <r> has more than 256"))
  }

  @Test func documentsPastTheSizeLimitAreRefusedUnread() {
    let big = [UInt8](repeating: 0x20, count: DomainXML.maxBytes + 1)
    #expect(refusal(big) == "XML of 67108865 bytes: more than 64 MiB; not read")
  }

  /// The fixtures parse to the same trees Foundation's XMLParser (libxml2) built from them,
  /// recorded in `Fixtures/NAME.tree` before it was replaced; `virsh-dumpxml.xml` carries an XML
  /// declaration, comments, every predefined entity, character references, CDATA, namespaced
  /// names, both quotes, '>' and white space inside attribute values, and non-ASCII text.
  @Test(arguments: ["virsh-dumpxml", "file-shared", "hugepages", "numa-nvdimm", "private-anonymous"])
  func fixturesParseToTheTreesFoundationBuilt(_ name: String) throws {
    let tree = try DomainXML.parse(try fixture("\(name).xml"))
    let expected = String(decoding: try fixture("\(name).tree"), as: UTF8.self)
    #expect(treeDump(tree) + "\n" == expected)
  }

  @Test func theVirshDumpxmlFixtureIsADomain() throws {
    let tree = try DomainXML.parse(try fixture("virsh-dumpxml.xml"))
    #expect(tree.child("title")?.value == "Web & cache — primär")
    #expect(tree.descendant("devices", "graphics")?["passwd"] == "a'b\"c<d>e")
    #expect(tree.children("qemu:commandline").first?.children.map { $0["value"] } == ["-fw_cfg", "name=opt/acme/tag,string=a b c"])
    let config = try LibvirtDomainReader.read(tree)
    #expect(config.name == "web02")
    #expect(config.regions.map(\.backing) == [.hugetlbfs(directory: "/dev/hugepages/libvirt/qemu/7-web02")])
    #expect(config.devices.map(\.address) == ["0000:5e:10.2", "0000:3b:00.1"])
  }

  /// Seeded mutations of the fixtures and of small documents: every one either parses, and then
  /// survives a round trip through `xml(_:)`, or is refused with one line that says where.
  @Test func fuzzedDocumentsNeverCrash() throws {
    var seeds = try ["virsh-dumpxml", "file-shared", "hugepages", "private-anonymous"].map { try fixture("\($0).xml") }
    seeds += [
      "<r a='1' b=\"2\">t&amp;<![CDATA[c]]><!-- c --><?p d?><s/></r>",
      "<?xml version='1.0'?><!DOCTYPE r><r>&#x41;&#66;<a><b><c/></b></a></r>",
      "\u{FEFF}<r>é😀<x y='&lt;&gt;'>z</x></r>",
    ].map { Array($0.utf8) }
    var rng = SplitMix64(seed: 0xDA9_1234)
    var accepted = 0
    var refused = 0
    let heads = [
      "not well-formed XML at line ", "invalid UTF-8 at line ", "XML nested too deep at line ", "too many XML attributes at line ",
      "<!ENTITY ", "<!DOCTYPE ",
    ]
    for _ in 0..<5000 {
      var doc = seeds[Int.random(in: 0..<seeds.count, using: &rng)]
      for _ in 0..<Int.random(in: 1...3, using: &rng) { mutate(&doc, using: &rng) }
      switch parsed(doc) {
      case .success(let tree):
        accepted += 1
        let again = parsed(xml(tree))
        #expect(again == .success(tree), "round trip of \(String(decoding: doc, as: UTF8.self).debugDescription)")
      case .failure(.malformed(let message)):
        refused += 1
        #expect(heads.contains { message.hasPrefix($0) }, "\(message)")
        #expect(!message.contains("\n") && !message.contains("\r"), "\(message.debugDescription)")
      case .failure(let other):
        Issue.record("\(other) for \(doc)")
      }
    }
    #expect(accepted + refused == 5000)
    #expect(accepted > 250, "the mutations leave some documents well-formed")
    #expect(refused > 4000, "and break most")
  }
}

/// A tree as XML that parses back to it: text first, then children; every character whose
/// meaning would change escaped.
func xml(_ e: MarkupElement) -> [UInt8] {
  func escape(_ s: String, attribute: Bool) -> String {
    var out = ""
    for c in s.unicodeScalars {
      switch c {
      case "&": out += "&amp;"
      case "<": out += "&lt;"
      case ">": out += "&gt;"
      case "\"" where attribute: out += "&quot;"
      case "\r": out += "&#13;"
      case "\t" where attribute: out += "&#9;"
      case "\n" where attribute: out += "&#10;"
      default: out.unicodeScalars.append(c)
      }
    }
    return out
  }
  var s = "<\(e.name)"
  for (k, v) in e.attributes.sorted(by: { $0.key < $1.key }) { s += " \(k)=\"\(escape(v, attribute: true))\"" }
  s += ">" + escape(e.text, attribute: false)
  var bytes = Array(s.utf8)
  for child in e.children { bytes += xml(child) }
  return bytes + Array("</\(e.name)>".utf8)
}

/// One random edit: a byte replaced, a token inserted, a range deleted or repeated, the end cut.
func mutate(_ doc: inout [UInt8], using rng: inout SplitMix64) {
  let tokens: [[UInt8]] = [
    "<", ">", "&", ";", "'", "\"", "/", "!", "?", "[", "]", "-", "=", "#", "x", "\r", "\t", " ", "\n", "<!--", "-->", "<![CDATA[", "]]>",
    "<?pi x?>", "<?xml version='1.0'?>", "&amp;", "&#x110000;", "&#xD800;", "&#65;", "&#x1F600;", "&lt", "</a>", "<a>", "<b x='1'/>",
    "<!DOCTYPE domain>", "<!DOCTYPE d [<!ENTITY e 'x'>]>", "\u{FEFF}", "é", "a:b", String(repeating: "<d>", count: 300),
  ].map { Array($0.utf8) } + [[0xC3], [0xFF], [0xED, 0xA0, 0x80], [0xF0, 0x9F, 0x98], [0x00], [0x01], [0xEF, 0xBF, 0xBE]]
  let at = doc.isEmpty ? 0 : Int.random(in: 0..<doc.count, using: &rng)
  switch Int.random(in: 0..<6, using: &rng) {
  case 0 where !doc.isEmpty:
    doc[at] = tokens[Int.random(in: 0..<tokens.count, using: &rng)].first!
  case 1:
    doc.insert(contentsOf: tokens[Int.random(in: 0..<tokens.count, using: &rng)], at: at)
  case 2 where !doc.isEmpty:
    doc.removeSubrange(at..<min(doc.count, at + Int.random(in: 1...16, using: &rng)))
  case 3 where !doc.isEmpty:
    let range = at..<min(doc.count, at + Int.random(in: 1...64, using: &rng))
    doc.insert(contentsOf: Array(doc[range]), at: range.upperBound)
  case 4:
    doc.removeSubrange(at...)
  default:
    doc.insert(UInt8.random(in: 0...255, using: &rng), at: at)
  }
}

/// A small seeded generator (SplitMix64), so the fuzz test is the same on every run.
struct SplitMix64: RandomNumberGenerator {
  var state: UInt64
  init(seed: UInt64) { state = seed }
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}
