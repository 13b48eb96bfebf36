import DaxPinCore
import FoundationEssentials

/// One line pinbench (`bench/pinbench.c`, daxpin bench's C twin) printed in a lab guest.
public struct PinbenchLine: Codable, Sendable, Equatable {
  public var interface: String
  public var memory: String
  public var bytes: Int
  public var iterations: Int
  public var gibPerSecond: Double
  public var pinMedianNs: UInt64
  public var pinP99Ns: UInt64
  public var unpinMedianNs: UInt64
  /// The fastest pin and unpin of the rounds.
  public var pinMinNs: UInt64?
  public var unpinMinNs: UInt64?
  enum CodingKeys: String, CodingKey {
    case interface, memory, bytes, iterations
    case gibPerSecond = "gib_per_s"
    case pinMedianNs = "pin_median_ns"
    case pinP99Ns = "pin_p99_ns"
    case unpinMedianNs = "unpin_median_ns"
    case pinMinNs = "pin_min_ns"
    case unpinMinNs = "unpin_min_ns"
  }
}

/// `daxpin lab --bench`: the guest runs `daxpin bench --json` after the contract, then pinbench
/// for every cell daxpin measured, with daxpin's size; both come back on the console (sections
/// `bench` and `pinbench`) and land in `OUT/<kernel>-<pmem>-bench.json` and `-pinbench.jsonl`.
public enum LabBench {
  /// 64 MiB fits every memory in the 1 GiB guest (the init raises the hugetlb pool to 64 MiB for
  /// the bench); 10 rounds keep a TCG run within a minute.
  public static let defaultArguments = "--size 64M --iterations 10"

  /// `cc -O2 -static` of pinbench.c into a scratch directory: the guest has no libc of its own
  /// beyond what the base archive carries. The binary's bytes, or why not.
  static func compile(_ source: String) -> Result<[UInt8], LabError> {
    guard let dir = try? HostProcess.scratchDirectory() else { return .failure(.setup("no scratch directory for pinbench")) }
    defer { HostProcess.removeTree(dir) }
    let out = dir + "/pinbench"
    guard let r = try? HostProcess.run(["cc", "-O2", "-static", "-o", out, source]), r.exit.succeeded,
      let data = FileManager.default.contents(atPath: out)
    else {
      return .failure(.setup("cc -O2 -static \(source) failed (gcc and libc6-dev: scripts/setup.sh)"))
    }
    return .success(Array(data))
  }

  struct Collected {
    var report: BenchReport?
    var pinbench: [PinbenchLine] = []
    var error: String?
    /// The files to write next to the run's report: (name suffix, text).
    var files: [(String, String)] = []
  }

  /// The guest's bench sections, decoded, and the files to write next to the run's report.
  static func collect(_ console: LabConsole) -> Collected {
    var c = Collected()
    guard let text = console.sections["bench"] else {
      c.error = "no bench report on the console"
      return c
    }
    guard let report = try? ReportJSON.decode(BenchReport.self, from: text) else {
      c.error = "the bench report is not valid JSON (daxpin exit \(console.exitCodes["bench"].map(String.init) ?? "?"))"
      return c
    }
    c.report = report
    c.files.append(("-bench.json", text))
    if let lines = console.sections["pinbench"] {
      c.pinbench = lines.split(separator: "\n").compactMap { try? ReportJSON.decode(PinbenchLine.self, from: String($0)) }
      c.files.append(("-pinbench.jsonl", lines))
    }
    return c
  }

  /// daxpin's and C's GiB/s per cell and their ratio, one line each; with the best-case ratio (C's
  /// fastest pin + unpin over daxpin's), which a slow round of a loaded host does not move.
  public static func comparison(_ report: BenchReport, _ c: [PinbenchLine]) -> String {
    var out = ""
    for r in report.results where r.status == .measured {
      guard let d = r.gibPerSecond else { continue }
      let twin = c.first { $0.interface == r.interface.rawValue && $0.memory == r.memory.rawValue }
      let cell = "\(r.interface.rawValue).\(r.memory.rawValue)"
      if let twin, twin.gibPerSecond > 0 {
        out += "  \(cell): daxpin \(two(d)) GiB/s, C \(two(twin.gibPerSecond)) GiB/s, ratio \(three(d / twin.gibPerSecond))"
        if let p = twin.pinMinNs, let u = twin.unpinMinNs, let dp = r.pinNs?.min, let du = r.unpinNs?.min, dp + du > 0 {
          out += ", best-case ratio \(three(Double(p + u) / Double(dp + du)))"
        }
        out += "\n"
      } else {
        out += "  \(cell): daxpin \(two(d)) GiB/s, C: no figure\n"
      }
    }
    return out
  }

  static func two(_ v: Double) -> String { rounded(v, 100) }
  static func three(_ v: Double) -> String { rounded(v, 1000) }
  static func rounded(_ v: Double, _ scale: Int) -> String {
    let n = Int((v * Double(scale)).rounded())
    let frac = String(n % scale)
    let width = String(scale).count - 1
    return "\(n / scale)." + String(repeating: "0", count: width - frac.count) + frac
  }
}
