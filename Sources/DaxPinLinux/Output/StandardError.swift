import Glibc

/// Diagnostics on standard error (fd 2), unbuffered: one write(2) per line (short counts
/// continued). Errors are ignored: there is nowhere left to report them.
public enum StandardError {
  /// Writes `text` and a newline to fd 2.
  public static func line(_ text: String) {
    let bytes = Array((text + "\n").utf8)
    bytes.withUnsafeBytes { all in
      var offset = 0
      while offset < all.count, case .success(let n) = system_write(2, UnsafeRawBufferPointer(rebasing: all[offset...])), n > 0 {
        offset += n
      }
    }
  }
}
