import Foundation
import Glibc

/// A process started with posix_spawn, for what `Process` cannot set up: stdout closed, or on a
/// given file, or a pipe the test holds without reading; signals blocked in the mask the child
/// inherits. Signal dispositions are reset to their defaults in the child (nothing inherited
/// ignored from the test runner). Stderr goes to a file.
final class Spawned {
  enum Stdout {
    /// A pipe whose read end the test holds (`stdoutReadEnd`).
    case pipe
    /// A pipe whose read end is closed before the child starts: its first write is EPIPE.
    case brokenPipe
    /// Opened O_WRONLY|O_CREAT|O_TRUNC.
    case file(String)
    /// fd 1 closed.
    case closed
  }

  let pid: pid_t
  /// The read end of the stdout pipe (`.pipe`), or -1.
  let stdoutReadEnd: CInt
  private let stderrPath: String

  /// Starts `argv` (argv[0] an absolute path).
  init(_ argv: [String], stdout: Stdout, blocking blocked: [Int32] = []) throws {
    stderrPath = NSTemporaryDirectory() + "daxpin-spawn-\(UUID().uuidString).err"
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    var pipeEnds: [CInt] = [-1, -1]
    switch stdout {
    case .pipe, .brokenPipe:
      guard pipe(&pipeEnds) == 0 else { throw POSIXError(.init(rawValue: errno)!) }
      for end in pipeEnds { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
      posix_spawn_file_actions_adddup2(&actions, pipeEnds[1], 1)
      if case .brokenPipe = stdout {
        close(pipeEnds[0])
        pipeEnds[0] = -1
      }
    case .file(let path):
      posix_spawn_file_actions_addopen(&actions, 1, path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    case .closed:
      posix_spawn_file_actions_addclose(&actions, 1)
    }
    posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)

    var attr = posix_spawnattr_t()
    posix_spawnattr_init(&attr)
    defer { posix_spawnattr_destroy(&attr) }
    var all = sigset_t()
    sigfillset(&all)
    var mask = sigset_t()
    sigemptyset(&mask)
    for sig in blocked { sigaddset(&mask, sig) }
    posix_spawnattr_setsigdefault(&attr, &all)
    posix_spawnattr_setsigmask(&attr, &mask)
    posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

    var cargs = argv.map { strdup($0) } + [nil]
    defer { cargs.forEach { free($0) } }
    var child: pid_t = 0
    let rc = posix_spawn(&child, argv[0], &actions, &attr, &cargs, environ)
    if pipeEnds[1] >= 0 { close(pipeEnds[1]) }
    guard rc == 0 else {
      if pipeEnds[0] >= 0 { close(pipeEnds[0]) }
      throw POSIXError(.init(rawValue: rc)!)
    }
    pid = child
    stdoutReadEnd = pipeEnds[0]
  }

  deinit {
    if stdoutReadEnd >= 0 { close(stdoutReadEnd) }
    unlink(stderrPath)
  }

  /// What the child wrote on stderr so far.
  var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

  /// Waits until the child sleeps in a pipe or FIFO write (its /proc/PID/wchan), up to 20 s.
  func waitUntilBlockedInPipeWrite() -> Bool {
    for _ in 0..<2000 {
      if let wchan = try? String(contentsOfFile: "/proc/\(pid)/wchan", encoding: .utf8), wchan.hasSuffix("pipe_write") { return true }
      usleep(10_000)
    }
    return false
  }

  /// Reads the stdout pipe to its end.
  func drainStdout() -> [UInt8] {
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
      let n = read(stdoutReadEnd, &chunk, chunk.count)
      if n > 0 { bytes += chunk[..<n] } else if n == 0 || errno != EINTR { break }
    }
    return bytes
  }

  /// The wait status once reaped.
  private var reaped: Int32?

  /// Whether the child ends within `seconds` (it is then reaped: `wait()` says how).
  func ends(within seconds: Double) -> Bool {
    for _ in 0..<Int(seconds * 100) {
      var status: Int32 = 0
      if waitpid(pid, &status, WNOHANG) == pid {
        reaped = status
        return true
      }
      usleep(10_000)
    }
    return false
  }

  /// Waits for the child: its exit status, or the signal that ended it.
  func wait() -> (status: Int32?, signal: Int32?) {
    var status: Int32 = reaped ?? 0
    while reaped == nil && waitpid(pid, &status, 0) == -1 && errno == EINTR {}
    reaped = status
    let sig = status & 0x7f
    return sig == 0 ? ((status >> 8) & 0xff, nil) : (nil, sig)
  }
}
