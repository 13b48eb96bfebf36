/// Paths are bytes to the kernel, and a user's path need not be UTF-8. daxpin carries every path
/// as a `String` in which each byte that is not part of valid UTF-8 is held as one scalar of
/// Unicode's last private-use plane (U+10FF80 + byte − 0x80), and turns it back into that very
/// byte at the syscall: a path named on the command line reaches the kernel byte for byte.
/// Reports show such a byte as `\xNN`.
public enum RawPath {
  static let base: UInt32 = 0x10_FF00

  /// The string for `bytes` (a command-line argument): valid UTF-8 as is, other bytes escaped.
  public static func string(fromBytes bytes: some Collection<UInt8>) -> String {
    if let s = String(validating: bytes, as: UTF8.self) { return s }
    var out = String.UnicodeScalarView()
    var it = Array(bytes)[...]
    while !it.isEmpty {
      // The longest valid UTF-8 sequence at the front (1 to 4 bytes), else one escaped byte.
      var taken = false
      for n in (1...min(4, it.count)).reversed() {
        if let s = String(validating: it.prefix(n), as: UTF8.self), s.unicodeScalars.count == 1 {
          out.append(s.unicodeScalars.first!)
          it = it.dropFirst(n)
          taken = true
          break
        }
      }
      if !taken {
        out.append(Unicode.Scalar(base + UInt32(it.first!))!)
        it = it.dropFirst()
      }
    }
    return String(out)
  }

  /// The bytes the kernel gets for `path`.
  public static func bytes(_ path: String) -> [UInt8] {
    var out: [UInt8] = []
    for s in path.unicodeScalars {
      if s.value >= base + 0x80 && s.value <= base + 0xFF {
        out.append(UInt8(s.value - base))
      } else {
        out.append(contentsOf: String(s).utf8)
      }
    }
    return out
  }

  /// Calls `body` with `path` as a NUL-terminated C string of its bytes.
  public static func withCString<R>(_ path: String, _ body: (UnsafePointer<CChar>) throws -> R) rethrows -> R {
    let b = bytes(path).map { CChar(bitPattern: $0) } + [0]
    return try b.withUnsafeBufferPointer { try body($0.baseAddress!) }
  }

  /// `path` for people, on one line: escaped bytes as `\xNN`, control characters (a newline, an
  /// escape) as visible symbols (`withVisibleControls`: `␊`, `␛`).
  public static func display(_ path: String) -> String {
    var out = ""
    for s in path.unicodeScalars {
      if s.value >= base + 0x80 && s.value <= base + 0xFF {
        out += "\\x" + String(s.value - base, radix: 16)
      } else {
        out.unicodeScalars.append(s)
      }
    }
    return out.withVisibleControls
  }
}
