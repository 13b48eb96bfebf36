import DaxPinCore
import Foundation
import FoundationXML

/// Parses XML (libvirt domain XML as `virsh dumpxml` prints it) into a `MarkupElement` tree with
/// Foundation's `XMLParser` (libxml2). This module is the only one that imports FoundationXML:
/// `daxpin check libvirt` uses it, the probe never does. A document that declares entities is
/// refused: `virsh dumpxml` never writes one, and neither an external entity (a file read on
/// the parser's behalf) nor entity expansion has any place in a domain.
public enum DomainXML {
  public static func parse(_ bytes: [UInt8]) throws(CheckProblem) -> MarkupElement {
    let parser = XMLParser(data: Data(bytes))
    parser.shouldResolveExternalEntities = false
    parser.shouldProcessNamespaces = false
    let builder = TreeBuilder()
    parser.delegate = builder
    if let name = declaredEntity(bytes) {
      throw .malformed("<!ENTITY \(name)>: domain XML declares no entities (virsh dumpxml writes none); not read")
    }
    guard parser.parse(), let root = builder.root else {
      let line = parser.lineNumber
      let column = parser.columnNumber
      let reason = builder.root == nil && parser.parserError == nil ? "no root element" : "not well-formed"
      throw .malformed("\(reason) XML at line \(line), column \(column)")
    }
    return root
  }
}

/// The name of the first `<!ENTITY` declaration in the document, if it has one. Foundation's
/// parser neither reports entity declarations to its delegate nor expands user entities
/// reliably, so a document with one is refused before it is parsed.
func declaredEntity(_ bytes: [UInt8]) -> String? {
  let marker = Array("<!ENTITY".utf8)
  guard bytes.count >= marker.count else { return nil }
  for i in 0...(bytes.count - marker.count) where bytes[i] == marker[0] && Array(bytes[i..<i + marker.count]) == marker {
    let rest = bytes[(i + marker.count)...].drop { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D || $0 == UInt8(ascii: "%") }
    let name = rest.prefix { $0 != 0x20 && $0 != 0x09 && $0 != 0x0A && $0 != 0x0D && $0 != UInt8(ascii: ">") }
    return String(decoding: name.prefix(64), as: UTF8.self)
  }
  return nil
}

/// Builds the tree as the parser reports elements and character data.
final class TreeBuilder: NSObject, XMLParserDelegate {
  var stack: [MarkupElement] = []
  var root: MarkupElement?

  func parser(
    _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName qName: String?,
    attributes attributeDict: [String: String] = [:]
  ) {
    stack.append(MarkupElement(elementName, attributeDict))
  }

  func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName qName: String?) {
    guard let done = stack.popLast() else { return }
    if stack.isEmpty {
      root = done
    } else {
      stack[stack.count - 1].children.append(done)
    }
  }

  func parser(_ parser: XMLParser, foundCharacters string: String) {
    guard !stack.isEmpty else { return }
    stack[stack.count - 1].text += string
  }

  func parser(_ parser: XMLParser, foundCDATA CDATABlock: Data) {
    guard !stack.isEmpty else { return }
    stack[stack.count - 1].text += String(decoding: CDATABlock, as: UTF8.self)
  }
}
