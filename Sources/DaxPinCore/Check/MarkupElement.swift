/// An XML element as a value: its name, attributes, child elements and character data. The XML
/// parser itself lives outside DaxPinCore (`DaxPinXML`, a small XML 1.0 parser in plain Swift), so the
/// readers here stay pure and are tested on trees built in code as well as on parsed fixtures.
public struct MarkupElement: Sendable, Equatable {
  public var name: String
  public var attributes: [String: String]
  public var children: [MarkupElement]
  /// The character data directly inside this element (not its children's), as written.
  public var text: String

  public init(_ name: String, _ attributes: [String: String] = [:], text: String = "", children: [MarkupElement] = []) {
    self.name = name
    self.attributes = attributes
    self.children = children
    self.text = text
  }

  /// The first child element called `name`.
  public func child(_ name: String) -> MarkupElement? { children.first { $0.name == name } }
  /// Every child element called `name`, in document order.
  public func children(_ name: String) -> [MarkupElement] { children.filter { $0.name == name } }
  /// The first element down a path of child names (`source`, `path`).
  public func descendant(_ names: String...) -> MarkupElement? {
    var e: MarkupElement? = self
    for n in names { e = e?.child(n) }
    return e
  }
  public subscript(attribute: String) -> String? { attributes[attribute] }
  /// The character data without surrounding white space.
  public var value: String { text.trimmingCharacters(in: " \n\t\r") }
}

