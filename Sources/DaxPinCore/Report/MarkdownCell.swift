/// Text from a report made safe for one cell of a GitHub-flavoured Markdown table: it cannot end
/// the row (no newline) or the cell (no bare `|`), whatever the report says.
enum MarkdownCell {
  /// `\` becomes `\\` (so a `\` in the text cannot escape the `|` that follows, nor be eaten by
  /// one), `|` becomes `\|`, control characters become visible symbols (`withVisibleControls`:
  /// a newline is `␊`). Rendered, the cell shows the original text.
  static func escape(_ text: String) -> String {
    var out = ""
    out.reserveCapacity(text.utf8.count)
    for scalar in text.withVisibleControls.unicodeScalars {
      switch scalar {
      case "\\": out += "\\\\"
      case "|": out += "\\|"
      default: out.unicodeScalars.append(scalar)
      }
    }
    return out
  }
}
