import DaxPinCore

/// The table printed at the end of a lab run, and the checks the test command enforces.
public enum LabSummary {
  public static func table(_ runs: [LabRun]) -> String {
    var lines = ["", "kernel            release                  pmem    boot s  probe s  total s  pass fail skip error  result"]
    for r in runs {
      let s = r.report?.summary
      func col(_ v: String, _ w: Int) -> String { v.count >= w ? v + " " : v + String(repeating: " ", count: w - v.count) }
      lines.append(
        col(r.kernel, 18) + col(r.release ?? "-", 25) + col(r.pmem.rawValue, 8) + col(fmt(r.bootSeconds), 8) + col(fmt(r.probeSeconds), 9)
          + col(fmt(r.totalSeconds), 9) + col(s.map { "\($0.pass)" } ?? "-", 5) + col(s.map { "\($0.fail)" } ?? "-", 5)
          + col(s.map { "\($0.skip)" } ?? "-", 5) + col(s.map { "\($0.error)" } ?? "-", 7)
          + (r.error != nil ? "ERROR" : (s?.unsafe ?? 0) > 0 ? "UNSAFE" : (s?.fail ?? 0) > 0 ? "FAIL" : "ok"))
    }
    return lines.joined(separator: "\n") + "\n"
  }
}

public enum LabCheck {
  /// What the README's test command requires of every lab run.
  public static func problems(_ runs: [LabRun]) -> [String] {
    var out: [String] = []
    for run in runs {
      let name = "\(run.kernel)-\(run.pmem.rawValue)"
      guard let report = run.report else {
        out.append("\(name): no report (\(run.error ?? "?"))")
        continue
      }
      let probes = Dictionary(report.probes.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
      for id in ["vfio-type1v2.fsdax-ext4-shared.rw", "vfio-type1v2.fsdax-xfs-shared.rw", "io_uring.fsdax-ext4-shared.rw", "io_uring.fsdax-xfs-shared.rw"] {
        let p = probes[id]
        if p?.outcome != .refused || p?.errnoName != "EOPNOTSUPP" {
          out.append("\(name): \(id) should be refused with EOPNOTSUPP, got \(p.map { "\($0.outcome.rawValue) \($0.errnoName ?? "")" } ?? "nothing")")
        }
      }
      if probes["vfio-type1v2.devdax.rw"]?.outcome != .pinned {
        let p = probes["vfio-type1v2.devdax.rw"]
        out.append("\(name): vfio-type1v2.devdax.rw should be pinned, got \(p.map { "\($0.outcome.rawValue) \($0.errnoName ?? "") \($0.reason ?? "")" } ?? "nothing")")
      }
      let expected = Interface.allCases.count * MemoryKind.allCases.count * Access.allCases.count
      if report.probes.count != expected { out.append("\(name): \(report.probes.count) cells, expected \(expected)") }
    }
    return out
  }
}
