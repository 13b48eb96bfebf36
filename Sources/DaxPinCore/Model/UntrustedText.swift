/// Text that came from a file daxpin did not write (a report from another host): bounded in
/// size and kept on one line before it is repeated in a table or printed in a message.
extension StringProtocol {
  /// At most `maxBytes` bytes of UTF-8. Longer text keeps the longest prefix of whole Unicode
  /// scalars that leaves room for `…` (3 bytes), then `…`. Costs O(maxBytes), whatever the length.
  public func capped(toBytes maxBytes: Int) -> String {
    guard utf8.count > maxBytes else { return String(self) }
    let room = Swift.max(0, maxBytes - 3)
    var kept = String.UnicodeScalarView()
    var bytes = 0
    for scalar in unicodeScalars {
      let n = UTF8.width(scalar)
      if bytes + n > room { break }
      bytes += n
      kept.append(scalar)
    }
    return String(kept) + "…"
  }

  /// Control characters shown as visible symbols, so the text is one line and cannot drive a
  /// terminal: C0 controls (newline, carriage return, escape, NUL, …) become their Control
  /// Pictures (`␊`, `␍`, `␛`, `␀`), DEL `␡`, the line and paragraph separators U+0085, U+2028
  /// and U+2029 `␤`, other C1 controls U+FFFD, and the bidirectional controls (U+061C, U+200E,
  /// U+200F, U+202A–U+202E, U+2066–U+2069), which reorder what a terminal shows so that a line
  /// reads as something else, as `⟨U+202E⟩`. Everything else is unchanged.
  public var withVisibleControls: String {
    var out = String.UnicodeScalarView()
    for scalar in unicodeScalars {
      switch scalar.value {
      case 0x00...0x1F: out.append(Unicode.Scalar(0x2400 + scalar.value)!)
      case 0x7F: out.append("\u{2421}")
      case 0x85, 0x2028, 0x2029: out.append("\u{2424}")
      case 0x80...0x9F: out.append("\u{FFFD}")
      case 0x061C, 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069:
        out.append(contentsOf: "⟨U+\(String(scalar.value, radix: 16, uppercase: true))⟩".unicodeScalars)
      default: out.append(scalar)
      }
    }
    return String(out)
  }
}
