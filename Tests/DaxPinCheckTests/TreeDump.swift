import DaxPinCore

/// A `MarkupElement` tree as text, one element a line, attributes sorted by name, strings as
/// Swift literals: the form the parsed fixtures are compared in (`Fixtures/*.tree`).
func treeDump(_ e: MarkupElement, indent: String = "") -> String {
  var line = indent + e.name
  for (k, v) in e.attributes.sorted(by: { $0.key < $1.key }) { line += " \(k)=\(String(reflecting: v))" }
  if !e.text.isEmpty { line += " text=\(String(reflecting: e.text))" }
  return ([line] + e.children.map { treeDump($0, indent: indent + "  ") }).joined(separator: "\n")
}
