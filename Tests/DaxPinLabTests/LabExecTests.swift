import DaxPinCore
import Foundation
import Glibc
import Testing

@testable import DaxPinLab

/// `daxpin lab --exec`: the guest-side runner (`scripts/lab/exec`) run for real under static
/// busybox on this host, as the guest runs it, with its console section taken apart by the
/// host's own parser; and the host side through `Lab.run` with the stand-in QEMU.
struct ExecRunner {
  let dir: String
  var etc: String { dir + "/etc" }
  var scratch: String { dir + "/tmp" }

  static var script: String { LabExec.runner(besideInit: StandInQEMU.initScript) }

  init() throws {
    dir = NSTemporaryDirectory() + "daxpin-labexec-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir + "/etc", withIntermediateDirectories: true)
    try FileManager.default.createDirectory(atPath: dir + "/tmp", withIntermediateDirectories: true)
  }

  func remove() { try? FileManager.default.removeItem(atPath: dir) }

  /// Host uptime in whole seconds: the runner's deadline is on the same clock.
  static var uptime: Int {
    let text = (try? String(contentsOfFile: "/proc/uptime", encoding: .utf8)) ?? "0"
    return Int(Double(text.split(separator: " ")[0]) ?? 0)
  }

  /// Writes the command and the environment the host would put in the run archive, with the
  /// deadline `seconds` from now, runs the runner, and returns what it printed and the result
  /// parsed from it.
  func run(_ command: [UInt8], seconds: Int = 60, limit: Int = LabExec.defaultOutputLimit, layout: LabLayout = .standard) throws -> (
    console: String, result: LabExecResult
  ) {
    let exec = LabExec(command: command, runner: Self.script, outputLimit: limit)
    var files = try exec.guestFiles(layout: layout, kernel: "debian-6.1", pmem: .memmap, timeout: 300)
    // The guest's deadline is on its uptime clock, which starts at its boot; here it is put
    // `seconds` from now on this host's.
    let env = String(decoding: files[2].1, as: UTF8.self).split(separator: "\n").map { line in
      line.hasPrefix("EXEC_DEADLINE=") ? "EXEC_DEADLINE=\(Self.uptime + seconds)" : String(line)
    }.joined(separator: "\n") + "\n"
    files[2].1 = Array(env.utf8)
    for (path, bytes, _) in files where path.hasPrefix("/etc/") {
      try Data(bytes).write(to: URL(fileURLWithPath: etc + "/" + path.dropFirst("/etc/".count)))
    }
    let console = try Self.spawn(["/bin/busybox", "sh", Self.script, etc, scratch], stdout: dir + "/console")
    return (console, LabExecResult.parse(LabConsole.parse(console)))
  }

  /// Runs `argv` to its end as init runs it in the guest: no signal blocked or ignored (the test
  /// runner's threads block several, SIGCHLD among them, and a child inherits that mask), stdout
  /// to `stdout`; returns what it wrote there.
  static func spawn(_ argv: [String], stdout: String) throws -> String {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    var attr = posix_spawnattr_t()
    posix_spawnattr_init(&attr)
    defer { posix_spawnattr_destroy(&attr) }
    var all = sigset_t()
    sigfillset(&all)
    var none = sigset_t()
    sigemptyset(&none)
    posix_spawnattr_setsigdefault(&attr, &all)
    posix_spawnattr_setsigmask(&attr, &none)
    posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
    var cargs = argv.map { strdup($0) } + [nil]
    defer { cargs.forEach { free($0) } }
    var pid: pid_t = 0
    let rc = posix_spawn(&pid, argv[0], &actions, &attr, &cargs, environ)
    guard rc == 0 else { throw POSIXError(.init(rawValue: rc)!) }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    return String(decoding: try Data(contentsOf: URL(fileURLWithPath: stdout)), as: UTF8.self)
  }
}

@Suite("lab --exec", .serialized, .enabled(if: FileManager.default.fileExists(atPath: "/bin/busybox"), "needs static busybox (scripts/setup.sh)"))
struct LabExecTests {
  @Test func theCommandArrivesByteForByteAndSeesTheGuestsObjects() throws {
    let r = try ExecRunner()
    defer { r.remove() }
    // Quotes of both kinds, a backslash, a dollar that must not expand twice, newlines, a byte
    // that is not UTF-8 (0xE9) in the command and in what it prints.
    var command = Array("printf '%s|' \"it's\" 'say \"hi\"' 'a\\b' '$HOME'\nprintf '\\n'\n".utf8)
    command += Array("printf 'caf".utf8) + [0xE9] + Array("\\n'\n".utf8)
    command += Array("for v in FSDAX_EXT4 FSDAX_XFS DEVDAX PAGECACHE VFIO_DEVICE KERNEL PMEM; do eval \"echo $v=\\$DAXPIN_LAB_$v\"; done\n".utf8)
    command += Array("pwd; ls -A | wc -l; cat; echo to-stderr >&2\nexit 3\n".utf8)
    let (console, result) = try r.run(command)
    #expect(result.problem == nil, "\(console)")
    #expect(result.status == 3)
    #expect(!result.timedOut)
    #expect(!result.succeeded)
    var expected = Array("it's|say \"hi\"|a\\b|$HOME|\ncaf".utf8) + [0xE9] + Array("\n".utf8)
    for (name, value) in LabLayout.standard.execVariables(.memmap) {
      expected += Array("\(name.dropFirst("DAXPIN_LAB_".count))=\(value)\n".utf8)
    }
    expected += Array("KERNEL=debian-6.1\nPMEM=memmap\n\(r.scratch)/daxpin-lab-exec/work\n0\nto-stderr\n".utf8)
    #expect(result.output == expected, "\(String(decoding: result.output, as: UTF8.self))")
    #expect(result.bytes == expected.count)
    #expect(!result.truncated)
    #expect(!FileManager.default.fileExists(atPath: r.scratch + "/daxpin-lab-exec"), "the runner leaves nothing behind")
  }

  @Test func aHangingCommandIsKilledAtTheDeadlineWithWhatItStarted() throws {
    let r = try ExecRunner()
    defer { r.remove() }
    let pidFile = r.dir + "/child.pid"
    let (console, result) = try r.run(Array("echo before\nsleep 300 & echo $! > \(pidFile)\nsleep 300\necho never\n".utf8), seconds: 2)
    #expect(result.timedOut, "\(console)")
    #expect(result.status == 137, "SIGKILL")
    #expect(result.output == Array("before\n".utf8))
    #expect(result.cell == "timeout")
    #expect(result.line.contains("killed at the deadline"))
    // The background sleep was in the command's process group: killed with it.
    let child = try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    let deadline = Date().addingTimeInterval(3)
    while alive(child), Date() < deadline { usleep(50_000) }
    #expect(!alive(child), "process \(child) the command started is left")
  }

  @Test func whatACommandLeavesRunningIsKilledWhenItEnds() throws {
    let r = try ExecRunner()
    defer { r.remove() }
    let pidFile = r.dir + "/child.pid"
    let (_, result) = try r.run(Array("sleep 300 > /dev/null 2>&1 & echo $! > \(pidFile)\n".utf8))
    #expect(result.succeeded)
    #expect(result.output.isEmpty)
    #expect(result.line == "exec exit 0; output 0 bytes")
    let child = try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    let deadline = Date().addingTimeInterval(3)
    while alive(child), Date() < deadline { usleep(50_000) }
    #expect(!alive(child))
  }

  @Test func outputPastTheLimitIsCountedNotKept() throws {
    let r = try ExecRunner()
    defer { r.remove() }
    // 5000 bytes, then more on stderr; the command must not see SIGPIPE (it exits 0 after).
    let (console, result) = try r.run(Array("i=0; while [ $i -lt 500 ]; do echo 123456789; i=$((i+1)); done; echo tail >&2; exit 0\n".utf8), limit: 1000)
    #expect(result.succeeded, "\(console)")
    #expect(result.output == Array(String(repeating: "123456789\n", count: 100).utf8))
    #expect(result.bytes == 5005)
    #expect(result.truncated)
    #expect(result.line.contains("1000 of 5005 bytes kept"))
  }

  @Test func environmentValuesAreQuotedForTheShell() throws {
    let r = try ExecRunner()
    defer { r.remove() }
    var layout = LabLayout()
    layout.pagecache = "/mnt/it's a \"dir\" $x `y`"
    let (_, result) = try r.run(Array("printf '%s' \"$DAXPIN_LAB_PAGECACHE\"".utf8), layout: layout)
    #expect(String(decoding: result.output, as: UTF8.self) == layout.pagecache)
  }

  @Test func consoleWithoutAnExecResultIsAProblem() {
    let c = LabConsole.parse("===DAXPIN-BEGIN probe===\n{}\n===DAXPIN-END probe rc=0===\n")
    let r = LabExecResult.parse(c)
    #expect(r.status == nil)
    #expect(r.problem?.contains("no exec result") == true)
    #expect(r.cell == "none")
    #expect(!r.succeeded)
    let garbled = LabExecResult.parse(LabConsole.parse("===DAXPIN-BEGIN exec gzip-base64===\nnot base64!\n===DAXPIN-END exec rc=0 bytes=3 timedout=0===\n"))
    #expect(garbled.status == 0)
    #expect(garbled.problem?.contains("did not decode") == true)
    #expect(!garbled.succeeded)
  }

  @Test func deadlineLeavesTimeToBringTheOutputBack() {
    #expect(LabExec.deadline(timeout: 300) == 270)
    #expect(LabExec.deadline(timeout: 40) == 30)
    #expect(LabExec.deadline(timeout: 1) == 1)
  }
}

@Suite("lab --exec through Lab.run", .serialized, .enabled(if: toolsInstalled, "needs scripts/setup.sh"))
struct LabExecRunTests {
  /// A console as the guest prints it: the probe, then the runner's own section (made by running
  /// the real runner here).
  static func console(exec: String) -> String {
    LabRunTests.console("k") + exec
  }

  @Test func theRunArchiveCarriesTheCommandAndTheResultComesBack() throws {
    let runner = try ExecRunner()
    defer { runner.remove() }
    let command: [UInt8] = Array("printf 'x\\n'; printf '\\377\\376'; exit 5\n".utf8) + [0xFF, 0x0A]
    let (section, _) = try runner.run(command)
    let q = try StandInQEMU()
    let kernel = try q.addKernel("k", console: Self.console(exec: section))
    var options = q.options()
    options.exec = LabExec(command: command, runner: ExecRunner.script)
    let run = Lab(options: options, progress: { _ in }).run()[0]
    #expect(run.error == nil, "\(run.error ?? "")")
    #expect(run.report != nil, "a failing command does not hide the probe's report")
    let exec = try #require(run.exec)
    #expect(exec.status == 5)
    #expect(exec.output == Array("x\n".utf8) + [0xFF, 0xFE])
    let path = try #require(exec.outputPath)
    #expect(path.hasSuffix("/custom-vmlinuz-k-memmap.exec.out"))
    #expect([UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) == exec.output)
    #expect(LabSummary.table([run]).contains("exec"))
    #expect(LabSummary.table([run]).split(separator: "\n").last!.contains(" 5 "))
    // What the guest was given: the runner, the command's exact bytes, the environment.
    let dir = (kernel as NSString).deletingLastPathComponent
    let archives = cpioArchives([UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/initrd-memmap.cpio"))))
    let files = Dictionary(archives[1].map { ($0.0, $0.1) }, uniquingKeysWith: { a, _ in a })
    #expect(files["etc/daxpin-lab-exec.cmd"] == command)
    #expect(files["bin/daxpin-lab-exec"] == [UInt8](try Data(contentsOf: URL(fileURLWithPath: ExecRunner.script))))
    let env = String(decoding: try #require(files["etc/daxpin-lab-exec.env"]), as: UTF8.self)
    #expect(env.contains("export DAXPIN_LAB_VFIO_DEVICE='\(LabLayout.standard.vfioDevice)'\n"))
    #expect(env.contains("export DAXPIN_LAB_DEVDAX='/dev/dax2.0'\n"))
    #expect(env.contains("EXEC_DEADLINE=22\n"), "timeout 30 s less a quarter")
  }

  @Test func withoutExecTheRunArchiveIsUnchangedAndNoResultIsMade() throws {
    let q = try StandInQEMU()
    try q.addKernel("k", console: LabRunTests.console("k"))
    let run = Lab(options: q.options(), progress: { _ in }).run()[0]
    #expect(run.exec == nil)
    #expect(!LabSummary.table([run]).contains("exec"))
  }

  @Test func aGuestThatStopsBeforeTheCommandEndsIsAFailedExec() throws {
    let q = try StandInQEMU()
    try q.addKernel("k", console: LabRunTests.console("k"))
    var options = q.options()
    options.exec = LabExec(command: Array("true".utf8), runner: ExecRunner.script)
    let run = Lab(options: options, progress: { _ in }).run()[0]
    #expect(run.report != nil)
    let exec = try #require(run.exec)
    #expect(!exec.succeeded)
    #expect(exec.outputPath == nil)
    #expect(exec.line.hasPrefix("exec FAILED: the guest printed no exec result"))
  }

  @Test func aMissingRunnerIsTheRunsError() throws {
    let q = try StandInQEMU()
    try q.addKernel("k", console: LabRunTests.console("k"))
    var options = q.options()
    options.exec = LabExec(command: Array("true".utf8), runner: q.dir + "/no-such-runner")
    let run = Lab(options: options, progress: { _ in }).run()[0]
    #expect(run.error?.contains("no-such-runner") == true)
  }
}
