import DaxPinCore

/// Parses XML (libvirt domain XML as `virsh dumpxml` prints it) into a `MarkupElement` tree.
///
/// A small XML 1.0 parser in plain Swift (the standard library only: no Foundation, no libxml2,
/// no ICU), so `daxpin check libvirt` costs the static binary, and the kernel lab's initramfs
/// that carries it, almost nothing. It checks well-formedness of everything domain XML uses:
/// UTF-8 (a byte order mark is skipped, anything that is not UTF-8 or not an XML character is
/// refused), the XML declaration, comments, processing instructions (skipped), CDATA sections,
/// elements and attributes (either quote; duplicates refused), the five predefined entities and
/// character references, matching end tags, one root element and nothing after it but comments,
/// processing instructions and white space. Line ends are normalised and attribute values
/// whitespace-normalised as XML 1.0 says. Namespaces are not processed: names stay qualified
/// (`qemu:commandline`) and `xmlns` declarations stay attributes.
///
/// A document that declares entities is refused: `virsh dumpxml` never writes one, and neither an
/// external entity (a file read on the parser's behalf) nor entity expansion has any place in a
/// domain. A bare `<!DOCTYPE domain>` (with or without an external identifier, never fetched) is
/// read; an internal subset that declares anything else is refused too.
///
/// Hostile input cannot exhaust the stack or memory: the parser never recurses, reads at most
/// `maxBytes`, nests at most `maxDepth` elements and takes at most `maxAttributes` attributes
/// on one element. Every error is one line: what was wrong, and where (line and column, counted
/// in characters from 1).
public enum DomainXML {
  /// The largest document read (the CLI's own read stops earlier, at 16 MiB).
  public static let maxBytes = 64 << 20
  /// How deep elements may nest (the root is depth 1); libvirt's deepest is under 10.
  public static let maxDepth = 256
  /// How many attributes one element may have; libvirt's widest has about 10.
  public static let maxAttributes = 256

  public static func parse(_ bytes: [UInt8]) throws(CheckProblem) -> MarkupElement {
    var reader = XMLReader(bytes)
    do {
      return try reader.document()
    } catch {
      throw .malformed(error.message(in: bytes))
    }
  }
}

/// Why a document was not read: a message and, for most, the byte offset it points at.
struct XMLError: Error {
  enum Kind {
    /// Not well-formed XML.
    case syntax
    /// Not UTF-8.
    case encoding
    /// Well-formed, but past one of the parser's limits.
    case depth, attributes
    /// Refused whole (a declared entity, a DTD subset, the size): the message stands alone.
    case refused
  }

  var kind: Kind
  var offset: Int
  var what: String

  static func syntax(_ offset: Int, _ what: String) -> XMLError { XMLError(kind: .syntax, offset: offset, what: what) }
  static func refused(_ what: String) -> XMLError { XMLError(kind: .refused, offset: 0, what: what) }

  /// One line: the kind, the position (line, column) and what was wrong.
  func message(in bytes: [UInt8]) -> String {
    let head: String
    switch kind {
    case .refused: return what
    case .syntax: head = "not well-formed XML"
    case .encoding: head = "invalid UTF-8"
    case .depth: head = "XML nested too deep"
    case .attributes: head = "too many XML attributes"
    }
    let (line, column) = XMLReader.position(of: offset, in: bytes)
    return "\(head) at line \(line), column \(column): \(what)"
  }
}

/// The parser: a cursor over the bytes, and an explicit stack of open elements (no recursion).
struct XMLReader {
  let b: [UInt8]
  let n: Int
  var i = 0

  init(_ bytes: [UInt8]) {
    b = bytes
    n = bytes.count
  }

  /// An element still open: its start tag read, its end tag not yet.
  struct Open {
    var name: String
    var start: Int
    var attributes: [String: String]
    var text: [UInt8] = []
    var children: [MarkupElement] = []

    var element: MarkupElement {
      MarkupElement(name, attributes, text: String(decoding: text, as: UTF8.self), children: children)
    }
  }

  // MARK: Document

  /// document ::= prolog element Misc*
  mutating func document() throws(XMLError) -> MarkupElement {
    guard n <= DomainXML.maxBytes else {
      throw .refused("XML of \(n) bytes: more than \(DomainXML.maxBytes >> 20) MiB; not read")
    }
    if n >= 2, (b[0] == 0xFE && b[1] == 0xFF) || (b[0] == 0xFF && b[1] == 0xFE) {
      throw XMLError(kind: .encoding, offset: 0, what: "a UTF-16 byte order mark: domain XML is read as UTF-8 only")
    }
    try validate()
    if n >= 3, b[0] == 0xEF, b[1] == 0xBB, b[2] == 0xBF { i = 3 }
    if at("<?xml"), i + 5 < n, isSpace(b[i + 5]) || b[i + 5] == UInt8(ascii: "?") { try xmlDeclaration() }

    // prolog ::= XMLDecl? Misc* (doctypedecl Misc*)?
    var doctype = false
    while true {
      skipSpace()
      guard i < n else { throw .syntax(i, "no root element") }
      if at("<!--") {
        try comment()
      } else if at("<?") {
        try processingInstruction()
      } else if at("<!DOCTYPE") {
        if doctype { throw .syntax(i, "a second <!DOCTYPE>") }
        try doctypeDeclaration()
        doctype = true
      } else if b[i] == UInt8(ascii: "<"), i + 1 < n, nameStartLength(i + 1) > 0 {
        break
      } else if b[i] == UInt8(ascii: "<") {
        throw .syntax(i, "\(describe(i)) not followed by an element name")
      } else {
        throw .syntax(i, "text before the root element")
      }
    }

    let rootStart = i
    let root = try element()

    // Misc*
    while true {
      skipSpace()
      guard i < n else { return root }
      if at("<!--") {
        try comment()
      } else if at("<?") {
        try processingInstruction()
      } else if at("<!DOCTYPE") {
        throw .syntax(i, "<!DOCTYPE> after the root element")
      } else if at("</"), nameStartLength(i + 2) > 0 {
        let save = i
        i += 2
        let name = name()
        throw .syntax(save, "</\(name)> closes nothing: the root element <\(root.name)> is already closed")
      } else if b[i] == UInt8(ascii: "<"), i + 1 < n, nameStartLength(i + 1) > 0 {
        let save = i
        i += 1
        let name = name()
        throw .syntax(save, "a second root element <\(name)>: a document has one (<\(root.name)> at \(Self.where(rootStart, b)))")
      } else {
        throw .syntax(i, "\(describe(i)) after the root element </\(root.name)>: only comments, processing instructions and white space may follow it")
      }
    }
  }

  /// XMLDecl ::= '<?xml' VersionInfo EncodingDecl? SDDecl? S? '?>', at the very start.
  mutating func xmlDeclaration() throws(XMLError) {
    let start = i
    i += 5
    var seen: [String] = []
    while true {
      let spaced = skipSpace()
      guard i < n else { throw .syntax(start, "<?xml declaration not closed (no ?>)") }
      if at("?>") {
        i += 2
        break
      }
      guard spaced, nameStartLength(i) > 0 else { throw .syntax(i, "\(describe(i)) in the <?xml declaration") }
      let keyStart = i
      let key = name()
      skipSpace()
      guard i < n, b[i] == UInt8(ascii: "=") else { throw .syntax(i, "'=' expected after \(key) in the <?xml declaration") }
      i += 1
      skipSpace()
      guard i < n, b[i] == UInt8(ascii: "'") || b[i] == UInt8(ascii: "\"") else {
        throw .syntax(i, "\(key) in the <?xml declaration: value not quoted")
      }
      let quote = b[i]
      let valueStart = i + 1
      guard let end = find(quote, from: valueStart) else { throw .syntax(i, "\(key) in the <?xml declaration: value not closed") }
      let value = String(decoding: b[valueStart..<end], as: UTF8.self)
      i = end + 1
      let order = ["version", "encoding", "standalone"]
      guard let rank = order.firstIndex(of: key), seen.allSatisfy({ order.firstIndex(of: $0)! < rank }) else {
        throw .syntax(keyStart, "\(key) in the <?xml declaration: only version, encoding and standalone, in that order")
      }
      if rank > 0 && seen.first != "version" { throw .syntax(keyStart, "the <?xml declaration names its version first") }
      seen.append(key)
      switch key {
      case "version":
        let digits = value.utf8.dropFirst(2)
        guard value.hasPrefix("1."), !digits.isEmpty, digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
          throw .syntax(valueStart, "version='\(value)': not XML 1.x")
        }
      case "encoding":
        guard ["utf-8", "utf8", "us-ascii", "ascii"].contains(value.lowercased()) else {
          throw .syntax(valueStart, "encoding='\(value)': domain XML is read as UTF-8 only")
        }
      default:
        guard value == "yes" || value == "no" else { throw .syntax(valueStart, "standalone='\(value)': not yes or no") }
      }
    }
    guard seen.first == "version" else { throw .syntax(start, "the <?xml declaration has no version") }
  }

  /// doctypedecl ::= '<!DOCTYPE' S Name (S ExternalID)? S? ('[' intSubset ']' S?)? '>'. The external
  /// DTD is never read; an internal subset is read only to refuse what it declares.
  mutating func doctypeDeclaration() throws(XMLError) {
    let start = i
    i += 9
    guard skipSpace(), nameStartLength(i) > 0 else { throw .syntax(i, "<!DOCTYPE names no root element") }
    let root = name()
    if skipSpace(), at("SYSTEM") || at("PUBLIC") {
      let keyword = at("SYSTEM") ? "SYSTEM" : "PUBLIC"
      i += 6
      if keyword == "PUBLIC" {
        guard skipSpace() else { throw .syntax(i, "<!DOCTYPE \(root) PUBLIC: white space expected") }
        let id = try literal("the public identifier of <!DOCTYPE \(root)>")
        let pubid = Array(" \r\n-'()+,./:=?;!*#@$_%".utf8)
        if let bad = id.first(where: { !(isASCIILetterOrDigit(b[$0]) || pubid.contains(b[$0])) }) {
          throw .syntax(bad, "\(describe(bad)) in the public identifier of <!DOCTYPE \(root)>")
        }
      }
      guard skipSpace() else { throw .syntax(i, "<!DOCTYPE \(root) \(keyword): white space expected") }
      _ = try literal("the system identifier of <!DOCTYPE \(root)>")
      skipSpace()
    }
    if i < n, b[i] == UInt8(ascii: "[") {
      let subset = i
      i += 1
      try internalSubset(root: root, start: subset)
      skipSpace()
    }
    guard i < n else { throw .syntax(start, "<!DOCTYPE \(root) not closed (no >)") }
    guard b[i] == UInt8(ascii: ">") else { throw .syntax(i, "\(describe(i)) in <!DOCTYPE \(root)>") }
    i += 1
  }

  /// intSubset ::= (markupdecl | PEReference | S | Comment | PI)*, up to its ']'. The first entity
  /// declaration is refused by name; any other declaration refuses the subset.
  mutating func internalSubset(root: String, start: Int) throws(XMLError) {
    var declared: String?
    while true {
      skipSpace()
      guard i < n else { throw .syntax(start, "the internal subset of <!DOCTYPE \(root)> not closed (no ])") }
      if b[i] == UInt8(ascii: "]") {
        i += 1
        break
      } else if at("<!--") {
        try comment()
      } else if at("<?") {
        try processingInstruction()
      } else if b[i] == UInt8(ascii: "%") {
        let ref = i
        i += 1
        guard nameStartLength(i) > 0 else { throw .syntax(ref, "'%' not followed by a parameter entity name") }
        let pe = name()
        guard i < n, b[i] == UInt8(ascii: ";") else { throw .syntax(ref, "%\(pe) not closed by ';'") }
        i += 1
        declared = declared ?? "%\(pe);"
      } else if at("<!ENTITY") {
        i += 8
        while i < n, isSpace(b[i]) || b[i] == UInt8(ascii: "%") { i += 1 }
        var end = i
        var scalars = 0
        while end < n, !isSpace(b[end]), b[end] != UInt8(ascii: ">"), scalars < 64 {
          end += scalarLength(b[end])
          scalars += 1
        }
        let entity = String(decoding: b[i..<min(end, n)], as: UTF8.self)
        throw .refused("<!ENTITY \(entity)>: domain XML declares no entities (virsh dumpxml writes none); not read")
      } else if at("<!ELEMENT") || at("<!ATTLIST") || at("<!NOTATION") {
        let declaration = i
        i += 2
        let keyword = name()
        // Up to the declaration's '>', over quoted literals (which may hold '>').
        while true {
          guard i < n else { throw .syntax(declaration, "<!\(keyword) not closed (no >)") }
          let c = b[i]
          if c == UInt8(ascii: "'") || c == UInt8(ascii: "\"") {
            guard let close = find(c, from: i + 1) else { throw .syntax(i, "a literal in <!\(keyword) not closed") }
            i = close + 1
          } else if c == UInt8(ascii: ">") {
            i += 1
            break
          } else if c == UInt8(ascii: "<") {
            throw .syntax(i, "'<' inside <!\(keyword)")
          } else {
            i += 1
          }
        }
        declared = declared ?? "<!\(keyword)>"
      } else {
        throw .syntax(i, "\(describe(i)) in the internal subset of <!DOCTYPE \(root)>")
      }
    }
    if let declared {
      throw .refused("<!DOCTYPE \(root) [\(declared)]>: domain XML declares nothing in a DTD (virsh dumpxml writes none); not read")
    }
  }

  /// A quoted literal (SystemLiteral, PubidLiteral): the offsets of its content.
  mutating func literal(_ what: String) throws(XMLError) -> Range<Int> {
    guard i < n, b[i] == UInt8(ascii: "'") || b[i] == UInt8(ascii: "\"") else { throw .syntax(i, "\(what): not quoted") }
    guard let close = find(b[i], from: i + 1) else { throw .syntax(i, "\(what): not closed") }
    defer { i = close + 1 }
    return (i + 1)..<close
  }

  // MARK: Elements

  /// The root element and everything in it, with a stack of open elements.
  mutating func element() throws(XMLError) -> MarkupElement {
    var stack: [Open] = []
    var done: MarkupElement?
    // At the root's start tag.
    let (root, empty) = try startTag(depth: 1)
    if empty { return root.element }
    stack.append(root)
    while done == nil {
      guard i < n else {
        let top = stack[stack.count - 1]
        throw .syntax(n, "end of input inside <\(top.name)> (opened at \(Self.where(top.start, b))); no </\(top.name)>")
      }
      let c = b[i]
      if c == UInt8(ascii: "<") {
        if at("</") {
          let closed = try endTag(stack[stack.count - 1])
          stack.removeLast()
          if stack.isEmpty {
            done = closed
          } else {
            stack[stack.count - 1].children.append(closed)
          }
        } else if at("<!--") {
          try comment()
        } else if at("<![CDATA[") {
          try cdata(into: &stack[stack.count - 1].text)
        } else if at("<?") {
          try processingInstruction()
        } else if at("<!") {
          throw .syntax(i, "'<!' inside <\(stack[stack.count - 1].name)> that opens neither a comment nor a CDATA section")
        } else {
          let (child, empty) = try startTag(depth: stack.count + 1)
          if empty {
            stack[stack.count - 1].children.append(child.element)
          } else {
            stack.append(child)
          }
        }
      } else if c == UInt8(ascii: "&") {
        try reference(into: &stack[stack.count - 1].text)
      } else {
        try text(into: &stack[stack.count - 1].text)
      }
    }
    return done!
  }

  /// STag ::= '<' Name (S Attribute)* S? '>', or EmptyElemTag ('/>'): the element, and whether
  /// the tag was an empty-element tag (nothing to push).
  mutating func startTag(depth: Int) throws(XMLError) -> (Open, empty: Bool) {
    let start = i
    i += 1
    guard nameStartLength(i) > 0 else { throw .syntax(start, "'<' not followed by an element name") }
    let tag = name()
    if depth > DomainXML.maxDepth {
      throw XMLError(kind: .depth, offset: start, what: "<\(tag)> would be element \(depth) deep; at most \(DomainXML.maxDepth) are read")
    }
    var open = Open(name: tag, start: start, attributes: [:])
    while true {
      let spaced = skipSpace()
      guard i < n else { throw .syntax(start, "the start tag <\(tag)> not closed (no >)") }
      let c = b[i]
      if c == UInt8(ascii: ">") {
        i += 1
        return (open, false)
      }
      if c == UInt8(ascii: "/") {
        guard i + 1 < n, b[i + 1] == UInt8(ascii: ">") else { throw .syntax(i, "'/' not followed by '>' in the start tag <\(tag)>") }
        i += 2
        return (open, true)
      }
      guard nameStartLength(i) > 0 else { throw .syntax(i, "\(describe(i)) in the start tag <\(tag)>") }
      guard spaced else { throw .syntax(i, "<\(tag)>: no white space before attribute \(peekName())") }
      let attributeStart = i
      let attribute = name()
      skipSpace()
      guard i < n, b[i] == UInt8(ascii: "=") else { throw .syntax(i, "<\(tag)>: '=' expected after attribute \(attribute)") }
      i += 1
      skipSpace()
      guard i < n, b[i] == UInt8(ascii: "'") || b[i] == UInt8(ascii: "\"") else {
        throw .syntax(i, "<\(tag) \(attribute)=>: the value is not quoted")
      }
      let value = try attributeValue(tag: tag, attribute: attribute)
      guard open.attributes[attribute] == nil else { throw .syntax(attributeStart, "<\(tag)>: attribute \(attribute) given twice") }
      guard open.attributes.count < DomainXML.maxAttributes else {
        throw XMLError(kind: .attributes, offset: attributeStart, what: "<\(tag)> has more than \(DomainXML.maxAttributes)")
      }
      open.attributes[attribute] = value
    }
  }

  /// AttValue, at its opening quote: references replaced, white space normalised to spaces.
  mutating func attributeValue(tag: String, attribute: String) throws(XMLError) -> String {
    let open = i
    let quote = b[i]
    i += 1
    var value: [UInt8] = []
    while true {
      guard i < n else { throw .syntax(open, "<\(tag) \(attribute)=>: the value is not closed (no matching quote)") }
      let c = b[i]
      switch c {
      case quote:
        i += 1
        return String(decoding: value, as: UTF8.self)
      case UInt8(ascii: "<"):
        throw .syntax(i, "'<' in the value of \(attribute) in <\(tag)> (write &lt;)")
      case UInt8(ascii: "&"):
        try reference(into: &value)
      case 0x0D:
        value.append(0x20)
        i += (i + 1 < n && b[i + 1] == 0x0A) ? 2 : 1
      case 0x09, 0x0A:
        value.append(0x20)
        i += 1
      default:
        value.append(c)
        i += 1
      }
    }
  }

  /// ETag ::= '</' Name S? '>', which must close `open`.
  mutating func endTag(_ open: Open) throws(XMLError) -> MarkupElement {
    let start = i
    i += 2
    guard nameStartLength(i) > 0 else { throw .syntax(start, "'</' not followed by an element name") }
    let tag = name()
    guard tag == open.name else {
      throw .syntax(start, "</\(tag)> does not close <\(open.name)> (opened at \(Self.where(open.start, b)))")
    }
    skipSpace()
    guard i < n, b[i] == UInt8(ascii: ">") else { throw .syntax(i, "\(describe(i)) in the end tag </\(tag)>") }
    i += 1
    return open.element
  }

  /// CharData up to the next '<' or '&'; line ends normalised, ']]>' refused.
  mutating func text(into out: inout [UInt8]) throws(XMLError) {
    while i < n {
      let c = b[i]
      if c == UInt8(ascii: "<") || c == UInt8(ascii: "&") { return }
      if c == 0x0D {
        out.append(0x0A)
        i += (i + 1 < n && b[i + 1] == 0x0A) ? 2 : 1
        continue
      }
      if c == UInt8(ascii: "]"), at("]]>") { throw .syntax(i, "']]>' in text outside a CDATA section (write ]]&gt;)") }
      out.append(c)
      i += 1
    }
  }

  /// Reference ::= '&' Name ';' (the five predefined) | '&#' [0-9]+ ';' | '&#x' [0-9a-fA-F]+ ';'.
  mutating func reference(into out: inout [UInt8]) throws(XMLError) {
    let start = i
    i += 1
    if i < n, b[i] == UInt8(ascii: "#") {
      i += 1
      let hex = i < n && b[i] == UInt8(ascii: "x")
      if hex { i += 1 }
      var value: UInt32 = 0
      var digits = 0
      while i < n {
        let c = b[i]
        let d: UInt32
        switch c {
        case 0x30...0x39: d = UInt32(c - 0x30)
        case 0x61...0x66 where hex: d = UInt32(c - 0x61 + 10)
        case 0x41...0x46 where hex: d = UInt32(c - 0x41 + 10)
        default: d = 99
        }
        if d == 99 { break }
        value = min(value * (hex ? 16 : 10) + d, 0x11_0000)
        digits += 1
        i += 1
      }
      let written = String(decoding: b[start..<min(i + 1, n)], as: UTF8.self)
      guard digits > 0, i < n, b[i] == UInt8(ascii: ";") else {
        throw .syntax(start, "a character reference \(String(decoding: b[start..<i], as: UTF8.self)) that is not &#DIGITS; or &#xHEX;")
      }
      i += 1
      guard isXMLChar(value), let scalar = Unicode.Scalar(value) else {
        let shown = value >= 0x11_0000 ? "beyond U+10FFFF" : "U+\(String(value, radix: 16, uppercase: true))"
        throw .syntax(start, "\(written) is not an XML character (\(shown))")
      }
      out.append(contentsOf: UTF8.encode(scalar)!)
      return
    }
    guard nameStartLength(i) > 0 else { throw .syntax(start, "'&' not followed by a reference (write &amp;)") }
    let entity = name()
    guard i < n, b[i] == UInt8(ascii: ";") else { throw .syntax(start, "&\(entity) not closed by ';'") }
    i += 1
    switch entity {
    case "lt": out.append(UInt8(ascii: "<"))
    case "gt": out.append(UInt8(ascii: ">"))
    case "amp": out.append(UInt8(ascii: "&"))
    case "apos": out.append(UInt8(ascii: "'"))
    case "quot": out.append(UInt8(ascii: "\""))
    default: throw .syntax(start, "&\(entity); is not one of XML's five predefined entities (domain XML declares none)")
    }
  }

  // MARK: Comments, processing instructions, CDATA

  /// Comment ::= '<!--' ((Char - '-') | ('-' (Char - '-')))* '-->'
  mutating func comment() throws(XMLError) {
    let start = i
    i += 4
    while i + 1 < n {
      if b[i] == UInt8(ascii: "-"), b[i + 1] == UInt8(ascii: "-") {
        guard i + 2 < n, b[i + 2] == UInt8(ascii: ">") else {
          if i + 2 >= n { break }
          throw .syntax(i, "'--' inside a comment (opened at \(Self.where(start, b)))")
        }
        i += 3
        return
      }
      i += 1
    }
    throw .syntax(start, "comment not closed (no --> before the end of input)")
  }

  /// PI ::= '<?' PITarget (S (Char* - (Char* '?>' Char*)))? '?>', skipped.
  mutating func processingInstruction() throws(XMLError) {
    let start = i
    i += 2
    guard nameStartLength(i) > 0 else { throw .syntax(start, "'<?' not followed by a processing instruction target") }
    let target = name()
    if target.lowercased() == "xml" {
      throw .syntax(start, "<?\(target) ...?> is allowed only at the very start of the document")
    }
    if at("?>") {
      i += 2
      return
    }
    guard i < n else { throw .syntax(start, "<?\(target) not closed (no ?> before the end of input)") }
    guard isSpace(b[i]) else { throw .syntax(i, "\(describe(i)) after <?\(target)") }
    while i + 1 < n {
      if b[i] == UInt8(ascii: "?"), b[i + 1] == UInt8(ascii: ">") {
        i += 2
        return
      }
      i += 1
    }
    throw .syntax(start, "<?\(target) not closed (no ?> before the end of input)")
  }

  /// CDSect ::= '<![CDATA[' (Char* - (Char* ']]>' Char*)) ']]>', its text appended as written.
  mutating func cdata(into out: inout [UInt8]) throws(XMLError) {
    let start = i
    i += 9
    while i + 2 < n {
      let c = b[i]
      if c == UInt8(ascii: "]"), b[i + 1] == UInt8(ascii: "]"), b[i + 2] == UInt8(ascii: ">") {
        i += 3
        return
      }
      if c == 0x0D {
        out.append(0x0A)
        i += b[i + 1] == 0x0A ? 2 : 1
        continue
      }
      out.append(c)
      i += 1
    }
    throw .syntax(start, "CDATA section not closed (no ]]> before the end of input)")
  }

  // MARK: Characters

  /// Checks the whole document once: UTF-8 (no overlong forms, no surrogates, nothing past
  /// U+10FFFF) of XML characters only.
  func validate() throws(XMLError) {
    var k = 0
    while k < n {
      let c = b[k]
      if c < 0x80 {
        if c < 0x20 && c != 0x09 && c != 0x0A && c != 0x0D {
          throw .syntax(k, "U+\(hex4(UInt32(c))) (a control character) is not an XML character")
        }
        k += 1
        continue
      }
      let length: Int
      var low: UInt8 = 0x80
      var high: UInt8 = 0xBF
      switch c {
      case 0xC2...0xDF: length = 2
      case 0xE0: length = 3; low = 0xA0
      case 0xE1...0xEC, 0xEE...0xEF: length = 3
      case 0xED: length = 3; high = 0x9F
      case 0xF0: length = 4; low = 0x90
      case 0xF1...0xF3: length = 4
      case 0xF4: length = 4; high = 0x8F
      default:
        let why = c < 0xC0 ? "a continuation byte with nothing to continue" : "never appears in UTF-8"
        throw XMLError(kind: .encoding, offset: k, what: "byte 0x\(hex2(c)) (\(why)); domain XML is UTF-8")
      }
      for j in 1..<length {
        let bound = j == 1 ? low...high : 0x80...0xBF
        guard k + j < n else {
          throw XMLError(kind: .encoding, offset: k, what: "\(bytes(k..<n)): a UTF-8 sequence cut off by the end of input")
        }
        guard bound.contains(b[k + j]) else {
          throw XMLError(kind: .encoding, offset: k, what: "\(bytes(k...(k + j))): not a UTF-8 sequence; domain XML is UTF-8")
        }
      }
      if length == 3, c == 0xEF, b[k + 1] == 0xBF, b[k + 2] >= 0xBE {
        throw .syntax(k, "U+FFF\(b[k + 2] == 0xBE ? "E" : "F") is not an XML character")
      }
      k += length
    }
  }

  func bytes<R: RangeExpression<Int>>(_ r: R) -> String {
    b[r].map { "0x\(hex2($0))" }.joined(separator: " ")
  }

  /// The length of a UTF-8 sequence from its first byte (the document is valid UTF-8).
  func scalarLength(_ c: UInt8) -> Int {
    c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4
  }

  /// The scalar at `k` and its length in bytes.
  func scalar(_ k: Int) -> (UInt32, Int) {
    let c = b[k]
    let length = scalarLength(c)
    guard length > 1, k + length <= n else { return (UInt32(c), 1) }
    var v = UInt32(c) & (length == 2 ? 0x1F : length == 3 ? 0x0F : 0x07)
    for j in 1..<length { v = v << 6 | UInt32(b[k + j] & 0x3F) }
    return (v, length)
  }

  /// The byte length of a NameStartChar at `k`, or 0.
  func nameStartLength(_ k: Int) -> Int {
    guard k < n else { return 0 }
    let c = b[k]
    if c < 0x80 {
      return (c >= 0x61 && c <= 0x7A) || (c >= 0x41 && c <= 0x5A) || c == UInt8(ascii: "_") || c == UInt8(ascii: ":") ? 1 : 0
    }
    let (v, length) = scalar(k)
    return isNameStart(v) ? length : 0
  }

  /// The byte length of a NameChar at `k`, or 0.
  func nameCharLength(_ k: Int) -> Int {
    guard k < n else { return 0 }
    let c = b[k]
    if c < 0x80 {
      return isASCIILetterOrDigit(c) || c == UInt8(ascii: "_") || c == UInt8(ascii: ":") || c == UInt8(ascii: "-") || c == UInt8(ascii: ".") ? 1 : 0
    }
    let (v, length) = scalar(k)
    return isNameStart(v) || v == 0xB7 || (0x300...0x36F).contains(v) || (0x203F...0x2040).contains(v) ? length : 0
  }

  /// Name ::= NameStartChar (NameChar)*, at a NameStartChar.
  mutating func name() -> String {
    let start = i
    i += nameStartLength(i)
    while true {
      let length = nameCharLength(i)
      if length == 0 { break }
      i += length
    }
    return String(decoding: b[start..<i], as: UTF8.self)
  }

  /// The name at the cursor, without moving it (for messages).
  func peekName() -> String {
    var copy = self
    return copy.name()
  }

  /// S ::= (#x20 | #x9 | #xD | #xA)+; whether there was any.
  @discardableResult
  mutating func skipSpace() -> Bool {
    let start = i
    while i < n, isSpace(b[i]) { i += 1 }
    return i > start
  }

  /// Whether the bytes at the cursor spell `s` (ASCII).
  func at(_ s: StaticString) -> Bool {
    s.withUTF8Buffer { p in
      guard i + p.count <= n else { return false }
      for j in 0..<p.count where b[i + j] != p[j] { return false }
      return true
    }
  }

  func find(_ byte: UInt8, from k: Int) -> Int? {
    var j = k
    while j < n {
      if b[j] == byte { return j }
      j += 1
    }
    return nil
  }

  /// The character at `k`, for a message: quoted, or as U+XXXX when it would not print.
  func describe(_ k: Int) -> String {
    guard k < n else { return "the end of input" }
    let (v, _) = scalar(k)
    if v < 0x20 || v == 0x7F || (0x80...0x9F).contains(v) { return "U+\(hex4(v))" }
    if v == 0x27 { return "\"'\"" }
    return "'\(String(decoding: b[k..<min(k + scalarLength(b[k]), n)], as: UTF8.self))'"
  }

  /// The line and column (both from 1; columns in characters) of byte `offset`.
  static func position(of offset: Int, in b: [UInt8]) -> (line: Int, column: Int) {
    var line = 1
    var column = 1
    var k = 0
    let end = min(offset, b.count)
    while k < end {
      let c = b[k]
      if c == 0x0A || (c == 0x0D && !(k + 1 < b.count && b[k + 1] == 0x0A)) {
        line += 1
        column = 1
      } else if c & 0xC0 != 0x80 && c != 0x0D {
        column += 1
      }
      k += 1
    }
    return (line, column)
  }

  /// "line L, column C" of byte `offset`.
  static func `where`(_ offset: Int, _ b: [UInt8]) -> String {
    let (line, column) = position(of: offset, in: b)
    return "line \(line), column \(column)"
  }
}

/// S: space, tab, carriage return, line feed.
@inline(__always)
func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x0A || c == 0x09 || c == 0x0D }

func isASCIILetterOrDigit(_ c: UInt8) -> Bool {
  (c >= 0x61 && c <= 0x7A) || (c >= 0x41 && c <= 0x5A) || (c >= 0x30 && c <= 0x39)
}

/// Char ::= #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]
func isXMLChar(_ v: UInt32) -> Bool {
  v == 0x09 || v == 0x0A || v == 0x0D || (0x20...0xD7FF).contains(v) || (0xE000...0xFFFD).contains(v) || (0x1_0000...0x10_FFFF).contains(v)
}

/// NameStartChar beyond ASCII (XML 1.0, fifth edition).
func isNameStart(_ v: UInt32) -> Bool {
  switch v {
  case 0x41...0x5A, 0x61...0x7A, 0x5F, 0x3A: true
  case 0xC0...0xD6, 0xD8...0xF6, 0xF8...0x2FF, 0x370...0x37D, 0x37F...0x1FFF, 0x200C...0x200D, 0x2070...0x218F,
    0x2C00...0x2FEF, 0x3001...0xD7FF, 0xF900...0xFDCF, 0xFDF0...0xFFFD, 0x1_0000...0xE_FFFF:
    true
  default: false
  }
}

func hex2(_ c: UInt8) -> String {
  let s = String(c, radix: 16, uppercase: true)
  return s.count < 2 ? "0" + s : s
}

func hex4(_ v: UInt32) -> String {
  let s = String(v, radix: 16, uppercase: true)
  return String(repeating: "0", count: max(0, 4 - s.count)) + s
}
