/// Turns what `daxpin explain` was given (arguments, a file, standard input) into lines: split at
/// `\n`, a trailing `\r` dropped, blank lines skipped but counted so numbers stay the input's own,
/// each line kept to its first `ExplainLimits.lineBytes` bytes. Bytes that are not UTF-8 stay
/// bytes until a line is shown.
public enum ExplainInput {
  /// One line of input.
  public struct Line: Sendable, Equatable {
    /// Where it came from: `argument 2`, a file's path, `-` for standard input.
    public var input: String
    /// 1-based, within its input.
    public var number: Int
    /// At most `ExplainLimits.lineBytes`.
    public var bytes: [UInt8]
    /// The line was longer and was cut.
    public var truncated: Bool

    /// `argument 2`, `vm.log:17`, `stdin:3`.
    public var location: String { ExplainInput.location(input: input, number: number) }

    public init(input: String, number: Int, bytes: [UInt8], truncated: Bool) {
      self.input = input
      self.number = number
      self.bytes = bytes
      self.truncated = truncated
    }
  }

  /// The non-blank lines of `bytes`.
  public static func lines(_ bytes: [UInt8], input: String) -> [Line] {
    var out: [Line] = []
    forEachLine(bytes, input: input) { out.append($0) }
    return out
  }

  /// Calls `body` with each non-blank line of `bytes`, one at a time, so a large log is never
  /// held twice.
  public static func forEachLine(_ bytes: [UInt8], input: String, _ body: (Line) -> Void) {
    bytes.withUnsafeBufferPointer { b in
      let n = b.count
      var start = 0
      var number = 0
      while start < n {
        var end = start
        while end < n && b[end] != 0x0A { end += 1 }
        number += 1
        var stop = end
        if stop > start && b[stop - 1] == 0x0D { stop -= 1 }
        let length = stop - start
        let kept = min(length, ExplainLimits.lineBytes)
        var blank = true
        for i in start..<(start + kept) where b[i] != 0x20 && b[i] != 0x09 && b[i] != 0x0D {
          blank = false
          break
        }
        if !blank {
          body(Line(input: input, number: number, bytes: Array(b[start..<(start + kept)]), truncated: length > kept))
        }
        start = end + 1
      }
    }
  }

  /// `argument 2` (`argument 2:3` for the third line of an argument that holds newlines),
  /// `vm.log:17`, `stdin:3`; shown on one line.
  public static func location(input: String, number: Int) -> String {
    if input.hasPrefix("argument ") { return number == 1 ? input : "\(input):\(number)" }
    let name = input == "-" ? "stdin" : input.capped(toBytes: 200).withVisibleControls
    return "\(name):\(number)"
  }

  /// The lines of an argument (one, unless it holds newlines).
  public static func lines(argument: String, index: Int) -> [Line] {
    lines(Array(argument.utf8), input: "argument \(index)")
  }
}
