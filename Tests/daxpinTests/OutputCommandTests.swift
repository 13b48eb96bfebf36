import DaxPinCore
import Foundation
import Glibc
import Testing

/// The report producer: the fake backend's full run (`fullRunCells` probes, over 200 KiB of JSON: more than a
/// pipe holds), any user, nothing touched.
let fakeProbe = ["probe", "--backend", "fake", "--profile", "linux-6.1"]

/// A scratch directory, removed with everything in it (and anything mounted on it) at the end.
final class Scratch {
  let path: String
  private var mounts: [String] = []

  init() throws {
    path = NSTemporaryDirectory() + "daxpin-output-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
  }

  deinit {
    for m in mounts.reversed() { _ = umount2(m, Int32(MNT_DETACH)) }
    try? FileManager.default.removeItem(atPath: path)
  }

  /// Mounts a tmpfs at `name` with `options` (`size=64k`, `ro`).
  func tmpfs(_ name: String, options: String) throws -> String {
    let dir = path + "/" + name
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false)
    guard mount("tmpfs", dir, "tmpfs", 0, options) == 0 else { throw POSIXError(.init(rawValue: errno)!) }
    mounts.append(dir)
    return dir
  }

  /// The names in `dir` (default: the scratch directory itself), sorted.
  func names(_ dir: String? = nil) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: dir ?? path)) ?? []).sorted()
  }
}

/// lstat(2) of `path`.
func lstatOf(_ path: String) -> stat? {
  var st = stat()
  return lstat(path, &st) == 0 ? st : nil
}

/// glibc's makedev(3) (a macro Swift does not import), for small major and minor numbers.
func makedev(_ major: UInt64, _ minor: UInt64) -> dev_t { dev_t((major & 0xfff) << 8 | (minor & 0xff)) }

func fileType(_ path: String) -> mode_t? { lstatOf(path).map { $0.st_mode & S_IFMT } }

@Suite("daxpin: checked standard output, end to end")
struct StandardOutputCommandTests {
  /// Every command that prints a document: probe, inventory, explain (text and JSON) and check.
  static let printers: [[String]] = [
    fakeProbe + ["--json"], ["inventory", "--json"], ["explain", "--kernel", "6.12.0", ExplainCommandTests.pcRam],
    ["explain", "--json", "--kernel", "6.12.0", ExplainCommandTests.pcRam], ["check", "qemu", "--", "-m", "64M"],
    ["check", "qemu", "--json", "--", "-m", "64M"],
  ]

  @Test(arguments: printers)
  func devFullIsOneLineENOSPCAndExit2(_ args: [String]) throws {
    let child = try Spawned([Run.executable] + args, stdout: .file("/dev/full"))
    let end = child.wait()
    #expect(end.signal == nil)
    #expect(end.status == 2)
    #expect(child.stderr == "daxpin: standard output: ENOSPC\n")
  }

  @Test(arguments: printers)
  func closedStdoutIsOneLineEBADFAndExit2(_ args: [String]) throws {
    let child = try Spawned([Run.executable] + args, stdout: .closed)
    let end = child.wait()
    #expect(end.status == 2)
    #expect(child.stderr == "daxpin: standard output: EBADF\n")
  }

  /// With stdout closed, the first file daxpin opened used to become fd 1: the --output file
  /// must hold the document alone, not the document followed by what was meant for stdout.
  @Test func closedStdoutNeverLandsInTheOutputFile() throws {
    let scratch = try Scratch()
    let file = scratch.path + "/inv.json"
    let child = try Spawned([Run.executable, "inventory", "--output", file], stdout: .closed)
    #expect(child.wait().status == 2)
    let written = try String(contentsOfFile: file, encoding: .utf8)
    let release = try String(contentsOfFile: "/proc/sys/kernel/osrelease", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    #expect(try ReportJSON.decode(Inventory.self, from: written).kernel.release == release)
    #expect(!written.contains("\nKernel\n"), "the text meant for stdout is not in the file")
    #expect(child.stderr == "daxpin: standard output: EBADF\n")
  }

  /// SIGPIPE is ignored: a reader that has gone is EPIPE, said on stderr, not a silent death.
  @Test func brokenPipeIsOneLineEPIPEAndExit2() throws {
    let child = try Spawned([Run.executable] + fakeProbe + ["--json"], stdout: .brokenPipe)
    let end = child.wait()
    #expect(end.signal == nil)
    #expect(end.status == 2)
    #expect(child.stderr == "daxpin: standard output: EPIPE\n")
  }

  /// A signal that arrives while the report is blocked on a full pipe ends daxpin by that signal,
  /// with the report cut short, never exit 0. `blocked`: spawned with the signal blocked, as some
  /// supervisors do; daxpin unblocks it (the write used to finish once the pipe drained, exit 0).
  @Test(arguments: [(SIGTERM, false), (SIGTERM, true), (SIGINT, false), (SIGINT, true), (SIGHUP, true), (SIGUSR1, true)])
  func signalDuringABlockedStdoutWriteEndsTheProcessBySignal(_ sig: Int32, _ blocked: Bool) throws {
    let full = try Run.daxpin(fakeProbe + ["--json"]).stdout.utf8.count
    try #require(full > 1 << 16, "the report must not fit in a pipe")
    let child = try Spawned([Run.executable] + fakeProbe + ["--json"], stdout: .pipe, blocking: blocked ? [sig] : [])
    #expect(child.waitUntilBlockedInPipeWrite())
    kill(child.pid, sig)
    // Not read while the signal is on its way: a reader would let the blocked write go on.
    let endedWhileBlocked = child.ends(within: 10)
    let read = child.drainStdout()
    let end = child.wait()
    #expect(endedWhileBlocked)
    #expect(end.signal == sig)
    #expect(end.status == nil)
    #expect(read.count < full, "the report was cut short")
    #expect(child.stderr == "")
  }
}

@Suite("daxpin --output, end to end", .serialized)
struct OutputCommandTests {
  @Test func directoryIsOneLineEISDIR() throws {
    let scratch = try Scratch()
    let r = try Run.daxpin(fakeProbe + ["--output", scratch.path])
    #expect(r.status == 2)
    #expect(r.stderr == "daxpin: --output \(scratch.path): EISDIR\n")
    #expect(scratch.names() == [])
  }

  /// RLIMIT_FSIZE below the report: EFBIG, not death by SIGXFSZ with a temporary file left.
  @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/prlimit"), "needs prlimit (util-linux)"))
  func fileSizeLimitIsOneLineEFBIGAndNoTemporaryLeft() throws {
    let scratch = try Scratch()
    let file = scratch.path + "/report.json"
    let child = try Spawned(["/usr/bin/prlimit", "--fsize=1000", Run.executable] + fakeProbe + ["--output", file], stdout: .file("/dev/null"))
    let end = child.wait()
    #expect(end.signal == nil)
    #expect(end.status == 2)
    #expect(child.stderr == "daxpin: --output \(file): EFBIG\n")
    #expect(scratch.names() == [])
  }

  /// A signal while the document is blocked on a FIFO whose reader does not read ends daxpin by
  /// it; the FIFO stays a FIFO.
  @Test(arguments: [SIGTERM, SIGINT])
  func signalDuringABlockedFIFOWriteEndsTheProcessBySignal(_ sig: Int32) throws {
    let scratch = try Scratch()
    let fifo = scratch.path + "/fifo"
    try #require(mkfifo(fifo, 0o600) == 0)
    let reader = open(fifo, O_RDWR | O_CLOEXEC)  // a reader that never reads
    try #require(reader >= 0)
    defer { close(reader) }
    let child = try Spawned([Run.executable] + fakeProbe + ["--output", fifo], stdout: .file("/dev/null"))
    #expect(child.waitUntilBlockedInPipeWrite())
    kill(child.pid, sig)
    let end = child.wait()
    #expect(end.signal == sig)
    #expect(fileType(fifo) == S_IFIFO)
    #expect(scratch.names() == ["fifo"])
  }

  @Test(.enabled(if: isRoot, "mknod needs root"))
  func characterDeviceIsWrittenThroughNotReplaced() throws {
    let scratch = try Scratch()
    let node = scratch.path + "/null"
    try #require(mknod(node, S_IFCHR | 0o666, makedev(1, 3)) == 0)
    let r = try Run.daxpin(fakeProbe + ["--json", "--output", node])
    #expect(r.status == 0)
    #expect(r.stderr == "")
    let st = try #require(lstatOf(node))
    #expect(st.st_mode & S_IFMT == S_IFCHR)
    #expect(st.st_rdev == makedev(1, 3))
    #expect(scratch.names() == ["null"])
  }

  @Test func fifoWithAReaderGetsTheDocument() throws {
    let scratch = try Scratch()
    let fifo = scratch.path + "/fifo"
    try #require(mkfifo(fifo, 0o600) == 0)
    // Opened before daxpin starts (O_NONBLOCK: no writer yet), read until daxpin has ended.
    let reader = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
    try #require(reader >= 0)
    defer { close(reader) }
    let stdout = scratch.path + "/stdout"
    let child = try Spawned([Run.executable] + fakeProbe + ["--json", "--output", fifo], stdout: .file(stdout))
    var received: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    var ended = false
    for _ in 0..<2000 {
      let n = read(reader, &chunk, chunk.count)
      if n > 0 {
        received += chunk[..<n]
        continue
      }
      if ended { break }
      ended = child.ends(within: 0.01)
    }
    #expect(ended)
    #expect(child.wait().status == 0)
    #expect(child.stderr == "")
    let printed = try String(contentsOfFile: stdout, encoding: .utf8)
    #expect(String(decoding: received, as: UTF8.self) == printed)
    #expect(try ReportJSON.decode(Report.self, from: printed).probes.count == fullRunCells)
    #expect(fileType(fifo) == S_IFIFO)
  }

  @Test(.enabled(if: isRoot, "chown needs root"))
  func regularFileKeepsItsOwnerGroupAndMode() throws {
    let scratch = try Scratch()
    let file = scratch.path + "/report.json"
    try "old".write(toFile: file, atomically: false, encoding: .utf8)
    try #require(chown(file, 1234, 4321) == 0 && chmod(file, 0o640) == 0)
    let r = try Run.daxpin(fakeProbe + ["--json", "--output", file])
    #expect(r.status == 0)
    let st = try #require(lstatOf(file))
    #expect(st.st_uid == 1234)
    #expect(st.st_gid == 4321)
    #expect(st.st_mode == S_IFREG | 0o640)
    #expect(try String(contentsOfFile: file, encoding: .utf8) == r.stdout)
    #expect(scratch.names() == ["report.json"])
  }

  @Test(.enabled(if: isRoot, "lchown needs root"))
  func symbolicLinkOwnedByAnotherUserIsRefused() throws {
    let scratch = try Scratch()
    let target = scratch.path + "/target"
    let link = scratch.path + "/link"
    try "untouched".write(toFile: target, atomically: false, encoding: .utf8)
    try #require(symlink(target, link) == 0 && lchown(link, 65534, 65534) == 0)
    let r = try Run.daxpin(fakeProbe + ["--output", link])
    #expect(r.status == 2)
    #expect(r.stderr == "daxpin: --output \(link): a symbolic link owned by uid 65534, not by root or by you; refusing to follow it as root\n")
    #expect(try String(contentsOfFile: target, encoding: .utf8) == "untouched")
    #expect(fileType(link) == S_IFLNK)
    #expect(scratch.names() == ["link", "target"])
  }

  @Test(.enabled(if: isRoot, "chown needs root"))
  func symbolicLinkOwnedByRootReplacesItsTargetAndStaysALink() throws {
    let scratch = try Scratch()
    let target = scratch.path + "/target.json"
    let link = scratch.path + "/link"
    try "old".write(toFile: target, atomically: false, encoding: .utf8)
    try #require(chown(target, 1234, 1234) == 0 && chmod(target, 0o600) == 0)
    try #require(symlink("target.json", link) == 0)
    let r = try Run.daxpin(fakeProbe + ["--json", "--output", link])
    #expect(r.status == 0)
    #expect(fileType(link) == S_IFLNK)
    #expect(try FileManager.default.destinationOfSymbolicLink(atPath: link) == "target.json")
    #expect(try String(contentsOfFile: target, encoding: .utf8) == r.stdout)
    let st = try #require(lstatOf(target))
    #expect(st.st_uid == 1234)
    #expect(st.st_mode == S_IFREG | 0o600)
    #expect(scratch.names() == ["link", "target.json"])
  }

  /// A root-owned link to /proc/self/fd/1 (what /dev/stdout is) writes into daxpin's own stdout,
  /// before the text: the link is not replaced by a file.
  @Test func linkToProcSelfFdWritesThroughToStandardOutput() throws {
    let scratch = try Scratch()
    let link = scratch.path + "/stdout"
    try #require(symlink("/proc/self/fd/1", link) == 0)
    let r = try Run.daxpin(["inventory", "--output", link])
    #expect(r.status == 0)
    // The JSON document ("{ ... }\n"), then the text report ("Kernel\n ...").
    let parts = r.stdout.components(separatedBy: "}\nKernel\n")
    try #require(parts.count == 2)
    let release = try String(contentsOfFile: "/proc/sys/kernel/osrelease", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    #expect(try ReportJSON.decode(Inventory.self, from: parts[0] + "}\n").kernel.release == release)
    #expect(fileType(link) == S_IFLNK)
  }

  @Test(.enabled(if: isRoot, "mount needs root"))
  func fullDirectoryIsOneLineENOSPCAndNoTemporaryLeft() throws {
    let scratch = try Scratch()
    let dir = try scratch.tmpfs("full", options: "size=64k")
    let r = try Run.daxpin(fakeProbe + ["--output", dir + "/report.json"])
    #expect(r.status == 2)
    #expect(r.stderr == "daxpin: --output \(dir)/report.json: ENOSPC\n")
    #expect(scratch.names(dir) == [])
  }

  @Test(.enabled(if: isRoot, "mount needs root"))
  func readOnlyDirectoryIsOneLineEROFSAndNoTemporaryLeft() throws {
    let scratch = try Scratch()
    let dir = try scratch.tmpfs("ro", options: "ro")
    let r = try Run.daxpin(fakeProbe + ["--output", dir + "/report.json"])
    #expect(r.status == 2)
    #expect(r.stderr == "daxpin: --output \(dir)/report.json: EROFS: cannot create a temporary file in its directory\n")
    #expect(scratch.names(dir) == [])
  }
}
