import Glibc

/// Diagnostics on standard error (fd 2), unbuffered: one write(2) per line (short counts
/// continued). Errors are ignored: there is nowhere left to report them.
public enum StandardError {
  /// Standard error is a terminal (progress lines may redraw in place).
  public static var isTerminal: Bool { system_isatty(2) }

  /// Writes `text` and a newline to fd 2.
  public static func line(_ text: String) {
    let bytes = Array((text + "\n").utf8)
    writeIgnoringErrors(bytes)
  }

  /// A status line on a terminal: replaces the line the cursor is on, cut to the terminal's
  /// width (`TIOCGWINSZ`) so it never wraps, no newline.
  public static func status(_ text: String) {
    var size = winsize()
    let width = ioctl(2, UInt(TIOCGWINSZ), &size) == 0 && size.ws_col > 10 ? Int(size.ws_col) - 1 : 99
    let bytes = Array(("\r\u{1B}[K" + String(text.prefix(width))).utf8)
    writeIgnoringErrors(bytes)
  }

  /// write(2) to fd 2 until every byte is out or a write fails (then there is nowhere left to say
  /// so): unlike `writeAll`, a caught signal does not end the process here.
  private static func writeIgnoringErrors(_ bytes: [UInt8]) {
    bytes.withUnsafeBytes { all in
      var offset = 0
      while offset < all.count, case .success(let n) = system_write(2, UnsafeRawBufferPointer(rebasing: all[offset...])), n > 0 {
        offset += n
      }
    }
  }
}
