import Foundation
import Glibc
import Testing

/// Signals that arrive before daxpin has installed its own handlers (`Signals.catchInterrupts`):
/// they must end daxpin by that signal, as the kernel's default action would.
@Suite("daxpin: signals before its handlers, end to end")
struct EarlySignalTests {
  /// SIGQUIT while `report matrix` waits for a FIFO's writer (no handler of daxpin's yet). The
  /// Swift runtime's backtracer used to take it: a "Program crashed" backtrace of some 60 lines
  /// on stderr, then the run went on, read the FIFO and exited 0.
  @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/prlimit"), "needs prlimit (util-linux)"))
  func sigquitWhileWaitingForAFIFOEndsTheProcessBySIGQUIT() throws {
    let scratch = try Scratch()
    let fifo = scratch.path + "/report.fifo"
    try #require(mkfifo(fifo, 0o600) == 0)
    let report = try Run.daxpin(fakeProbe + ["--json", "--interface", "io_uring", "--kind", "anon"]).stdout
    // --core=0: SIGQUIT's default action dumps core; none is written into the working directory.
    let child = try Spawned(["/usr/bin/prlimit", "--core=0", Run.executable, "report", "matrix", fifo], stdout: .file("/dev/null"))
    var waiting = false
    for _ in 0..<2000 where !waiting {
      waiting = (try? String(contentsOfFile: "/proc/\(child.pid)/wchan", encoding: .utf8)) == "wait_for_partner"
      if !waiting { usleep(10_000) }
    }
    try #require(waiting, "daxpin never waited in open(2) of the FIFO")
    kill(child.pid, SIGQUIT)
    if !child.ends(within: 5) {
      // Still alive: give it the report it waits for, so the test ends either way.
      let w = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC)
      if w >= 0 {
        _ = report.withCString { write(w, $0, strlen($0)) }
        close(w)
      }
    }
    let end = child.wait()
    #expect(end.signal == SIGQUIT)
    #expect(end.status == nil)
    #expect(child.stderr == "")
  }
}
