import DaxPinCore
import FoundationEssentials
import Glibc

/// `daxpin lab --exec COMMAND`: a shell command run in each guest after the lab's own work (setup,
/// probe, contract), by `scripts/lab/exec`, with the guest's objects in `DAXPIN_LAB_*` variables
/// (`LabLayout.execVariables`) and daxpin on its PATH. Its output and exit status come back on the
/// console and land in `<out>/<kernel>-<pmem>.exec.out` and the lab's summary.
public struct LabExec: Sendable, Equatable {
  /// The command's bytes exactly as given (not necessarily UTF-8); the guest runs them with `sh`.
  public var command: [UInt8]
  /// The runner script (`scripts/lab/exec` of the checkout).
  public var runner: String
  /// Output bytes brought back; the rest is counted, not kept.
  public var outputLimit: Int

  public static let defaultOutputLimit = 1 << 20

  public init(command: [UInt8], runner: String, outputLimit: Int = Self.defaultOutputLimit) {
    self.command = command
    self.runner = runner
    self.outputLimit = outputLimit
  }

  /// `scripts/lab/exec` next to the guest's init script.
  public static func runner(besideInit initScript: String) -> String {
    guard let slash = initScript.lastIndex(of: "/") else { return "exec" }
    return String(initScript[..<slash]) + "/exec"
  }

  /// Seconds kept after the command's deadline for printing its output and powering off.
  static func margin(timeout: Double) -> Double { min(30, timeout / 4) }

  /// The guest uptime (whole seconds) by which the command must have ended: the lab's timeout
  /// less the margin. The guest's clock starts after QEMU's spawn, so this ends the command
  /// before the host's timeout would kill the guest and lose the probe's report.
  static func deadline(timeout: Double) -> Int { max(1, Int(timeout - margin(timeout: timeout))) }

  /// `/etc/daxpin-lab-exec.env`: the `DAXPIN_LAB_*` variables from `layout`, the run's kernel and
  /// pmem mode, the deadline and the output limit.
  public func environment(layout: LabLayout, kernel: String, pmem: PmemMode, timeout: Double) -> String {
    var vars = layout.execVariables(pmem)
    vars += [("DAXPIN_LAB_KERNEL", kernel), ("DAXPIN_LAB_PMEM", pmem.rawValue)]
    var lines = vars.map { "export \($0.0)=\(Self.shellQuoted($0.1))" }
    lines.append("EXEC_DEADLINE=\(Self.deadline(timeout: timeout))")
    lines.append("EXEC_LIMIT=\(outputLimit)")
    return lines.joined(separator: "\n") + "\n"
  }

  /// `'…'` with each `'` written `'\''`.
  static func shellQuoted(_ s: String) -> String {
    "'" + s.replacing("'", with: "'\\''") + "'"
  }

  /// The files the run archive carries for the guest.
  func guestFiles(layout: LabLayout, kernel: String, pmem: PmemMode, timeout: Double) throws(LabError) -> [(String, [UInt8], Bool)] {
    guard let script = FileManager.default.contents(atPath: runner) else {
      throw .setup("cannot read \(runner) (the --exec runner, next to scripts/lab/init)")
    }
    return [
      ("/bin/daxpin-lab-exec", [UInt8](script), true),
      ("/etc/daxpin-lab-exec.cmd", command, false),
      ("/etc/daxpin-lab-exec.env", Array(environment(layout: layout, kernel: kernel, pmem: pmem, timeout: timeout).utf8), false),
    ]
  }
}

/// What came back from the command in one guest.
public struct LabExecResult: Sendable, Equatable {
  /// The command's exit status (128 + N when signal N ended it); nil when the guest never printed
  /// one (the run ended before the command did).
  public var status: Int?
  /// The deadline passed and the command's process group was killed.
  public var timedOut: Bool
  /// Bytes the command wrote (standard output and standard error together).
  public var bytes: Int
  /// The output kept: at most the limit.
  public var output: [UInt8]
  /// Where the output was written on the host.
  public var outputPath: String?
  /// Why there is no status, or the output did not decode.
  public var problem: String?

  public init(status: Int?, timedOut: Bool, bytes: Int, output: [UInt8], outputPath: String? = nil, problem: String? = nil) {
    self.status = status
    self.timedOut = timedOut
    self.bytes = bytes
    self.output = output
    self.outputPath = outputPath
    self.problem = problem
  }

  public var truncated: Bool { bytes > output.count }
  /// The command ran to its end and exited 0.
  public var succeeded: Bool { status == 0 && !timedOut && problem == nil }

  /// The `exec` section of a guest's console; a result with a problem when it is missing or
  /// does not decode.
  public static func parse(_ console: LabConsole) -> LabExecResult {
    guard let fields = console.endFields["exec"] else {
      return LabExecResult(status: nil, timedOut: false, bytes: 0, output: [], problem: "the guest printed no exec result (it stopped before the command ended)")
    }
    let status = fields["rc"].flatMap { Int($0) }
    let bytes = fields["bytes"].flatMap { Int($0) } ?? 0
    let timedOut = fields["timedout"] == "1"
    guard let output = console.data["exec"] else {
      return LabExecResult(status: status, timedOut: timedOut, bytes: bytes, output: [], problem: "the command's output did not decode (gzip in base64)")
    }
    return LabExecResult(
      status: status, timedOut: timedOut, bytes: max(bytes, output.count), output: output,
      problem: status == nil ? "the guest printed no exit status" : nil)
  }

  /// For the summary: `0`, `3`, `timeout`, `none`.
  public var cell: String {
    if timedOut { return "timeout" }
    if let status, problem == nil { return "\(status)" }
    return "none"
  }

  /// One line for the run: what the command did and where its output is.
  public var line: String {
    let what: String
    if timedOut {
      what = "FAILED: killed at the deadline (the lab's --timeout less the time to bring its output back)"
    } else if let problem {
      what = "FAILED: \(problem)"
    } else if let status, status != 0 {
      what = "FAILED: exit \(status)\(status > 128 ? " (signal \(status - 128))" : "")"
    } else {
      what = "exit 0"
    }
    let size = truncated ? "\(output.count) of \(bytes) bytes kept (the limit)" : "\(bytes) bytes"
    return "exec \(what); output \(size)\(outputPath.map { " in \($0)" } ?? "")"
  }
}
