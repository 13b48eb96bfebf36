import Glibc
import SystemPackage

/// write(2) in a loop until every byte is out: short counts continue where they stopped, EAGAIN
/// (a non-blocking descriptor) waits in poll(2), and after every write and every EINTR the signal
/// flag is checked: when a signal was caught, `cleanup` runs and the process ends by that signal
/// (`Signals.endProcessIfCaught`), so a document is either complete or the exit status says why.
/// Any other errno (EPIPE, ENOSPC, EFBIG, EDQUOT, EIO, EBADF) is returned.
func writeAll(_ fd: CInt, _ bytes: [UInt8], cleanup: () -> Void = {}) -> Result<Void, Errno> {
  func checkSignal() { Signals.endProcessIfCaught(cleanup: cleanup) }
  checkSignal()
  return bytes.withUnsafeBytes { all in
    var offset = 0
    while offset < all.count {
      let rest = UnsafeRawBufferPointer(rebasing: all[offset...])
      switch system_write(fd, rest, onInterrupt: checkSignal) {
      case .success(0):
        return .failure(.ioError)
      case .success(let n):
        offset += n
        checkSignal()
      case .failure(.resourceTemporarilyUnavailable):
        if case .failure(let e) = system_pollWritable(fd, onInterrupt: checkSignal) { return .failure(e) }
      case .failure(let e):
        return .failure(e)
      }
    }
    return .success(())
  }
}
