import DaxPinCore
import FoundationEssentials

/// `daxpin lab --check-vm`: holds `daxpin check qemu --probe` to real kernels. In each guest,
/// through `--exec`, it checks QEMU command lines whose guest RAM is on the ext4-DAX mount
/// (share=on and share=off), on xfs-DAX, on the device-DAX device with and without `align=`, on a
/// page-cache file (share=on and share=off) and on memfd, each with a vfio-pci device at the
/// address the guest bound to vfio-pci. Each case's prediction must equal what `--probe` measured
/// through the VM's own interface, and what the lab's probe (or, for a refusal at the VMM's mmap,
/// its misuse scenario) measured in the same guest.
public enum LabCheckVM {
  /// What in the same run shows the kernel's own answer.
  public enum Witness: Sendable, Equatable {
    /// The lab probe's cell of this memory kind and access through the VM's interface.
    case cell(MemoryKind)
    /// A misuse scenario's answer (`daxpin contract`): the refusal is at the VMM's mmap.
    case misuse(MisuseScenario)
  }

  public struct Case: Sendable, Equatable {
    public var name: String
    /// QEMU's memory options, in the shell's words: `$DAXPIN_LAB_*` expand in the guest.
    public var memory: [String]
    public var witness: Witness
  }

  /// The interface a QEMU `-device vfio-pci` without `iommufd=` pins through on Debian's kernels.
  public static let interface = Interface.vfioType1v2
  static let size = "64M"

  public static let cases: [Case] = {
    func file(_ path: String, _ options: String) -> [String] {
      ["-object", "memory-backend-file,id=ram,size=\(size),mem-path=\(path),\(options)", "-machine", "memory-backend=ram"]
    }
    return [
      Case(name: "fsdax-ext4 share=on", memory: file("$DAXPIN_LAB_FSDAX_EXT4/guest-ram", "share=on"), witness: .cell(.fsdaxExt4Shared)),
      Case(name: "fsdax-ext4 share=off", memory: file("$DAXPIN_LAB_FSDAX_EXT4/guest-ram", "share=off"), witness: .cell(.fsdaxExt4Private)),
      Case(name: "fsdax-xfs share=on", memory: file("$DAXPIN_LAB_FSDAX_XFS/guest-ram", "share=on"), witness: .cell(.fsdaxXfsShared)),
      Case(name: "devdax align=2M", memory: file("$DAXPIN_LAB_DEVDAX", "share=on,align=2M"), witness: .cell(.devdax)),
      Case(name: "devdax no align", memory: file("$DAXPIN_LAB_DEVDAX", "share=on"), witness: .misuse(.devdaxUnalignedMmap)),
      Case(name: "pagecache share=on", memory: file("$DAXPIN_LAB_PAGECACHE/guest-ram", "share=on"), witness: .cell(.pagecacheShared)),
      Case(name: "pagecache share=off", memory: file("$DAXPIN_LAB_PAGECACHE/guest-ram", "share=off"), witness: .cell(.pagecachePrivate)),
      Case(
        name: "memfd", memory: ["-object", "memory-backend-memfd,id=ram,size=\(size)", "-machine", "memory-backend=ram"],
        witness: .cell(.memfd)),
    ]
  }()

  /// The QEMU arguments of `c`, in the shell's words.
  public static func arguments(_ c: Case) -> [String] {
    ["-m", size] + c.memory + ["-device", "vfio-pci,host=$DAXPIN_LAB_VFIO_DEVICE"]
  }

  /// The command `--exec` runs: each case through `daxpin check qemu --json --probe`, its JSON
  /// between `@@case NAME` and `@@end NAME rc=N`, its standard error after `@@stderr`.
  public static var script: String {
    var lines = [
      "# daxpin lab --check-vm: QEMU command lines through `daxpin check qemu --json --probe`.",
      "check() {",
      "  name=$1; shift",
      "  echo \"@@case $name\"",
      "  daxpin check qemu --json --probe -- \"$@\" 2>/tmp/check-vm.err",
      "  rc=$?",
      "  echo \"@@stderr $name\"; cat /tmp/check-vm.err",
      "  echo \"@@end $name rc=$rc\"",
      "}",
    ]
    for c in cases {
      // Double quotes: the variables expand, the words stay whole.
      lines.append("check '\(c.name)' " + arguments(c).map { "\"\($0)\"" }.joined(separator: " "))
    }
    return lines.joined(separator: "\n") + "\n"
  }

  /// One case's answer as the command printed it.
  struct Printed {
    var json: String = ""
    var stderr: String = ""
    var status: Int?
  }

  /// The command's output split by case.
  static func split(_ output: [UInt8]) -> [String: Printed] {
    var out: [String: Printed] = [:]
    var current: String?
    var inStderr = false
    for raw in String(decoding: output, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false) {
      let line = String(raw)
      if line.hasPrefix("@@case ") {
        current = String(line.dropFirst("@@case ".count))
        inStderr = false
        out[current!] = Printed()
      } else if let name = current, line == "@@stderr \(name)" {
        inStderr = true
      } else if let name = current, line.hasPrefix("@@end \(name) rc=") {
        out[name]?.status = Int(line.dropFirst("@@end \(name) rc=".count))
        current = nil
      } else if let name = current {
        if inStderr { out[name]?.stderr += line + "\n" } else { out[name]?.json += line + "\n" }
      }
    }
    return out
  }

  /// The fields of `daxpin check --json` the comparison reads.
  struct CheckJSON: Decodable {
    struct Region: Decodable {
      var kind: String?
      var interface: String
      var prediction: String
      var errno_name: String?
      var rule: String
      var stage: String?
      var probe: Probe?
    }
    struct Probe: Decodable {
      var interface: String?
      var outcome: String?
      var errno_name: String?
      var confirms: Bool
      var note: String
    }
    var kernel: [String: String]
    var regions: [Region]
  }

  /// One case on one run.
  public struct Row: Sendable, Equatable {
    public var run: String
    public var release: String
    public var name: String
    public var kind: String
    /// `pinned`, `refused EOPNOTSUPP`, …
    public var predicted: String
    /// What `--probe` measured through the VM's interface (or `not probed`).
    public var measured: String
    /// The lab's own answer: the probe cell or the misuse scenario, with its name.
    public var kernel: String
    public var witness: String
    /// Why the row disagrees; empty when everything is equal.
    public var problems: [String]
    public var agrees: Bool { problems.isEmpty }
  }

  static func answer(_ outcome: String?, _ errno: String?) -> String {
    guard let outcome else { return "nothing" }
    return outcome == "refused" ? "refused \(errno ?? "?")" : outcome
  }

  /// Every case of every run that has an exec result, compared.
  public static func rows(_ runs: [LabRun]) -> [Row] {
    runs.flatMap(rows)
  }

  public static func rows(_ run: LabRun) -> [Row] {
    let name = "\(run.kernel)-\(run.pmem.rawValue)"
    let printed = split(run.exec?.output ?? [])
    let cells = Dictionary((run.report?.probes ?? []).map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
    return cases.map { c in
      var row = Row(
        run: name, release: run.release ?? "?", name: c.name, kind: "?", predicted: "?", measured: "?", kernel: "?", witness: "", problems: [])
      func problem(_ s: String) { row.problems.append(s) }
      // The kernel's own answer in this run.
      var expectedKind: MemoryKind?
      switch c.witness {
      case .cell(let kind):
        expectedKind = kind
        let id = ProbeID(interface, kind, .rw)
        row.witness = id.description
        if let p = cells[id.description] {
          row.kernel = answer(p.outcome.rawValue, p.errnoName)
          if p.outcome != .pinned && p.outcome != .refused { problem("the lab's probe did not exercise \(id): \(p.outcome.rawValue) \(p.reason ?? "")") }
        } else {
          row.kernel = "nothing"
          problem("the lab's report has no cell \(id)")
        }
      case .misuse(let scenario):
        row.witness = scenario.rawValue
        switch run.misuse?[scenario] {
        case .errno(let e)?: row.kernel = "refused \(e.name)"
        case .ok?, .value?: row.kernel = "pinned"
        case .unsupported(let why)?:
          row.kernel = "unsupported"
          problem("\(scenario.rawValue) was not exercised: \(why)")
        case nil:
          row.kernel = "nothing"
          problem("the run has no answer to \(scenario.rawValue)")
        }
      }
      guard let p = printed[c.name] else {
        problem("the guest printed nothing for this case\(run.exec == nil ? " (no exec result)" : "")")
        return row
      }
      guard let json = try? ReportJSON.decode(CheckJSON.self, from: p.json), json.regions.count == 1 else {
        problem("daxpin check exit \(p.status.map(String.init) ?? "?"), no report: \(p.stderr.trimmingCharacters(in: "\n ").prefix(300))")
        return row
      }
      let r = json.regions[0]
      row.kind = r.kind ?? "none"
      row.predicted = answer(r.prediction, r.errno_name)
      if let k = expectedKind, r.kind != k.rawValue { problem("check classified it \(r.kind ?? "as nothing"), the case is \(k.rawValue)") }
      if r.interface != interface.rawValue { problem("check predicts for \(r.interface), the case is \(interface.rawValue)") }
      if row.predicted != row.kernel { problem("check predicts \(row.predicted) [\(r.rule)], the kernel answered \(row.kernel) (\(row.witness))") }
      let status = r.prediction == "pinned" ? 0 : 1
      if p.status != status { problem("daxpin check exited \(p.status.map(String.init) ?? "?"), expected \(status) for \(r.prediction)") }
      switch c.witness {
      case .cell:
        if let probe = r.probe, probe.interface == interface.rawValue {
          row.measured = answer(probe.outcome, probe.errno_name)
          if row.measured != row.kernel { problem("--probe measured \(row.measured), the lab's probe \(row.kernel)") }
          if !probe.confirms && row.measured == row.predicted { problem("--probe does not say it confirms: \(probe.note)") }
        } else {
          row.measured = "not probed"
          problem("--probe did not pin through \(interface.rawValue): \(r.probe?.note ?? "no probe")")
        }
      case .misuse:
        // Refused at the VMM's mmap: nothing is pinned, so --probe has nothing to measure.
        row.measured = r.probe?.outcome == nil ? "not probed (\(r.stage ?? "?"))" : answer(r.probe?.outcome, r.probe?.errno_name)
        if r.stage != "mmap" { problem("check places the refusal at \(r.stage ?? "nothing"), not at the VMM's mmap") }
      }
      return row
    }
  }

  /// The rows as a Markdown table, then a case × kernel matrix (each cell the prediction, `≠`
  /// where something disagreed).
  public static func markdown(_ rows: [Row]) -> String {
    var out = ["| run | case | kind | check predicts | --probe measured | lab probe | witness | result |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows {
      out.append(
        "| \(r.run) | \(r.name) | \(r.kind) | \(r.predicted) | \(r.measured) | \(r.kernel) | \(r.witness) | \(r.agrees ? "equal" : "DIFFERS: " + r.problems.joined(separator: "; ")) |")
    }
    var runs: [String] = []
    for r in rows where !runs.contains(r.run) { runs.append(r.run) }
    out += ["", "| case | " + runs.joined(separator: " | ") + " |", "| --- |" + String(repeating: " --- |", count: runs.count)]
    for c in cases {
      let cells = runs.map { run in
        rows.first { $0.run == run && $0.name == c.name }.map { ($0.agrees ? "" : "≠ ") + $0.predicted } ?? "–"
      }
      out.append("| \(c.name) | " + cells.joined(separator: " | ") + " |")
    }
    return out.joined(separator: "\n") + "\n"
  }
}
