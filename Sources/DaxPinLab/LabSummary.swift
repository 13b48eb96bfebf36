import DaxPinCore

/// The table printed at the end of a lab run, and the checks the test command enforces.
public enum LabSummary {
  public static func table(_ runs: [LabRun]) -> String {
    let exec = runs.contains { $0.exec != nil }
    var lines = [
      "", "kernel            release                  pmem        boot s  probe s  total s  pass fail skip error  result  "
        + (exec ? "exec     " : "") + "contract",
    ]
    for r in runs {
      let s = r.report?.summary
      func col(_ v: String, _ w: Int) -> String { v.count >= w ? v + " " : v + String(repeating: " ", count: w - v.count) }
      lines.append(
        col(r.kernel, 18) + col(r.release ?? "-", 25) + col(r.pmem.rawValue, 12) + col(fmt(r.bootSeconds), 8) + col(fmt(r.probeSeconds), 9)
          + col(fmt(r.totalSeconds), 9) + col(s.map { "\($0.pass)" } ?? "-", 5) + col(s.map { "\($0.fail)" } ?? "-", 5)
          + col(s.map { "\($0.skip)" } ?? "-", 5) + col(s.map { "\($0.error)" } ?? "-", 7)
          + col(r.error != nil ? "ERROR" : r.notSupported != nil ? "n/a" : (s?.unsafe ?? 0) > 0 ? "UNSAFE" : (s?.fail ?? 0) > 0 ? "FAIL" : "ok", 8)
          + (exec ? col(r.exec?.cell ?? "none", 9) : "")
          + (r.contract.map { $0.isEmpty ? "= \(r.profile!)" : "\($0.count) differ from \(r.profile!)" } ?? "-"))
    }
    lines += notRun(runs).map { "n/a: \($0)" }
    return lines.joined(separator: "\n") + "\n"
  }

  /// One line per run its kernel cannot do (`LabRun.notSupported`): `debian-5.10 cxl: kernel … lacks …`.
  public static func notRun(_ runs: [LabRun]) -> [String] {
    runs.compactMap { r in r.notSupported.map { "\(r.kernel) \(r.pmem.rawValue): \($0)" } }
  }
}

extension LabSummary {
  /// `--timings`: one row per run, one column per step, in seconds; steps a run lacks are `-`.
  public static func timings(_ runs: [LabRun]) -> String {
    var steps: [String] = []
    for r in runs { for t in r.timings where !steps.contains(t.step) { steps.append(t.step) } }
    guard !steps.isEmpty else { return "" }
    func col(_ v: String, _ w: Int) -> String { v.count >= w ? v + " " : String(repeating: " ", count: w - v.count) + v + " " }
    let width = steps.map { max($0.count, 5) }
    var lines = ["", "timings (s)", "run" + String(repeating: " ", count: 22) + zip(steps, width).map { col($0, $1) }.joined() + "  total  qemu-cpu"]
    for r in runs {
      let name = "\(r.kernel)-\(r.pmem.rawValue)"
      let byStep = Dictionary(r.timings.map { ($0.step, $0.seconds) }, uniquingKeysWith: +)
      let cells = zip(steps, width).map { col(byStep[$0].map(fmt2) ?? "-", $1) }.joined()
      lines.append(name.padding(25) + cells + "  " + fmt2(r.totalSeconds) + "  " + (r.timeline?.qemuCPUSeconds.map(fmt2) ?? "-"))
    }
    let prepared = runs.compactMap { r in r.prepareSeconds.map { (r.kernel, $0, r.initramfsCached ?? false) } }
    var seen: Set<String> = []
    for (kernel, seconds, cached) in prepared where seen.insert(kernel).inserted {
      lines.append("\(kernel): prepared in \(fmt2(seconds)) s (initramfs \(cached ? "from the cache" : "built")), shared by its runs")
    }
    return lines.joined(separator: "\n") + "\n"
  }
}

extension String {
  func padding(_ width: Int) -> String { count >= width ? self + " " : self + String(repeating: " ", count: width - count) }
}

public enum LabCheck {
  /// What the README's test command requires of every lab run.
  public static func problems(_ runs: [LabRun]) -> [String] {
    var out: [String] = []
    for run in runs {
      let name = "\(run.kernel)-\(run.pmem.rawValue)"
      // A pmem mode the kernel lacks the drivers for is a fact about the kernel, said in the summary.
      if run.notSupported != nil { continue }
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
      // The kmem region (memmap, nvdimm) was converted and the probe was given its node: the
      // devdax-kmem pin happened and its frames were read (migrated or not is the kernel's answer).
      if LabLayout.standard.kmemNode(run.pmem) != nil {
        let p = probes["vfio-type1v2.devdax-kmem.rw"]
        if p?.outcome != .pinned || p?.frames == nil {
          out.append("\(name): vfio-type1v2.devdax-kmem.rw should be pinned with its page frames read, got \(p.map { "\($0.outcome.rawValue) \($0.errnoName ?? "") \($0.reason ?? "")" } ?? "nothing")")
        }
      }
      out += (run.contract ?? []).map { "\(name): contract with \(run.profile ?? "?"): \($0)" }
      out += PmemAgreement.problems(inventory: report.inventory.pmem, ndctl: run.ndctlList, daxctl: run.daxctlList).map { "\(name): \($0)" }
      let expected = Interface.allCases.count * MemoryKind.allCases.count * Access.allCases.count
      if report.probes.count != expected { out.append("\(name): \(report.probes.count) cells, expected \(expected)") }
    }
    return out
  }
}

/// Does the inventory (libndctl / libdaxctl through daxpin) list what `ndctl list -N` and
/// `daxctl list` list? Compared field by field on the keys both print.
public enum PmemAgreement {
  struct Namespace: Decodable, Equatable {
    var dev: String
    var mode: String
    var size: UInt64?
    var blockdev: String?
    var chardev: String?
  }
  struct DaxDev: Decodable, Equatable {
    var chardev: String
    var size: UInt64
    var align: UInt64?
    var mode: String?
  }

  public static func problems(inventory: PmemInfo, ndctl: String?, daxctl: String?) -> [String] {
    var out: [String] = []
    if let ndctl {
      let listed = ndctl.trimmingCharacters(in: " \n").isEmpty ? [] : (try? ReportJSON.decode([Namespace].self, from: ndctl))
      if let listed {
        let ours = inventory.namespaces.map {
          Namespace(dev: $0.dev, mode: $0.mode, size: $0.size, blockdev: $0.blockdev, chardev: $0.chardev)
        }
        for ns in listed {
          guard let mine = ours.first(where: { $0.dev == ns.dev }) else {
            out.append("ndctl lists \(ns.dev) (\(ns.mode)) but the inventory does not")
            continue
          }
          if mine != ns { out.append("inventory \(mine) differs from ndctl list \(ns)") }
        }
        if ours.count != listed.count { out.append("inventory has \(ours.count) namespaces, ndctl lists \(listed.count)") }
      } else {
        out.append("cannot read ndctl list -N output")
      }
    }
    if let daxctl {
      let listed = daxctl.trimmingCharacters(in: " \n").isEmpty ? [] : (try? ReportJSON.decode([DaxDev].self, from: daxctl))
      if let listed {
        let ours = inventory.daxDevices
        for d in listed {
          guard let mine = ours.first(where: { $0.chardev == d.chardev }) else {
            out.append("daxctl lists \(d.chardev) but the inventory does not")
            continue
          }
          if mine.size != d.size || (d.align != nil && mine.align != d.align) || (d.mode != nil && mine.mode != d.mode) {
            out.append("inventory \(mine.chardev) size \(mine.size) align \(mine.align) \(mine.mode) differs from daxctl list \(d)")
          }
        }
        if ours.count != listed.count { out.append("inventory has \(ours.count) dax devices, daxctl lists \(listed.count)") }
      } else {
        out.append("cannot read daxctl list output")
      }
    }
    return out
  }
}
