import DaxPinCore
import DaxPinFake
import Foundation
import Glibc
import Testing

@testable import DaxPinLab

/// `daxpin lab --check-vm`'s comparison, fed what a guest would print — made here by the fake
/// kernel of each Debian profile (held to the real kernels by the contract) standing in for the
/// guest: each case through `CheckRun` with `--probe`, the probe's own report and the misuse
/// answers from the same fake kernel. The real kernels are compared in the lab (README).
@Suite("lab --check-vm against the fake kernels")
struct LabCheckVMTests {
  /// `$DAXPIN_LAB_X` and `${…}` expanded from `vars`, as the guest's shell does.
  static func expand(_ word: String, _ vars: [(String, String)]) -> String {
    var out = word
    for (name, value) in vars.sorted(by: { $0.0.count > $1.0.count }) { out = out.replacing("$" + name, with: value) }
    return out
  }

  /// The variables of the fake host: LabLayout's, with the fake's device-DAX device.
  static func variables(_ fake: DaxPinFake.FakeKernel) -> [(String, String)] {
    let dax = FakeHost(fake).inventory().pmem.daxDevices.first.map { "/dev/" + $0.chardev } ?? "/dev/none"
    return LabLayout.standard.execVariables(.memmap).map { $0.0 == "DAXPIN_LAB_DEVDAX" ? ($0.0, dax) : $0 }
  }

  /// A run as the lab would have it: the exec output in the script's framing, the probe report
  /// and the misuse answers, all from `profile`'s fake kernel.
  static func run(_ profile: KernelProfile) throws -> LabRun {
    let fake = DaxPinFake.FakeKernel(profile: profile)
    let host = FakeHost(fake)
    let vars = variables(fake)
    var out = ""
    for c in LabCheckVM.cases {
      let config = try QEMUConfigReader.read(arguments: LabCheckVM.arguments(c).map { expand($0, vars) })
      let report = try CheckRun(host: host, config: config, probe: true).run()
      out += "@@case \(c.name)\n\(try ReportJSON.encode(report))\n@@stderr \(c.name)\n@@end \(c.name) rc=\(report.summary.exitCode)\n"
    }
    let request = ProbeRequest(pagecacheDirectory: LabLayout.standard.pagecache, toolVersion: "t")
    let report = try ProbeRun(host: FakeHost(DaxPinFake.FakeKernel(profile: profile)), request: request).run()
    var run = LabRun(kernel: profile.labKernel ?? profile.rawValue, release: report.kernel.release, pmem: .memmap, report: report, totalSeconds: 0)
    run.exec = LabExecResult(status: 0, timedOut: false, bytes: out.utf8.count, output: Array(out.utf8))
    run.misuse = try ProbeRun(host: FakeHost(DaxPinFake.FakeKernel(profile: profile)), request: request).misuseAnswers()
    return run
  }

  @Test(arguments: [KernelProfile.linux5_10, .linux6_1, .linux6_12, .linuxLatest])
  func everyCaseEqualsTheKernel(_ profile: KernelProfile) throws {
    let rows = LabCheckVM.rows(try Self.run(profile))
    #expect(rows.count == LabCheckVM.cases.count)
    for r in rows { #expect(r.agrees, "\(profile): \(r.name): \(r.problems)") }
    let predicted = Dictionary(rows.map { ($0.name, $0.predicted) }, uniquingKeysWith: { a, _ in a })
    let writeback = profile == .linux6_12 || profile == .linuxLatest
    #expect(predicted == [
      "fsdax-ext4 share=on": "refused EOPNOTSUPP", "fsdax-ext4 share=off": "refused EOPNOTSUPP", "fsdax-xfs share=on": "refused EOPNOTSUPP",
      "devdax align=2M": "pinned", "devdax no align": "refused EINVAL",
      "pagecache share=on": writeback ? "refused EFAULT" : "pinned", "pagecache share=off": "pinned", "memfd": "pinned",
    ])
    #expect(rows.filter { $0.witness != "devdax.unaligned-mmap" }.allSatisfy { $0.measured == $0.kernel })
    let table = LabCheckVM.markdown(rows)
    #expect(!table.contains("DIFFERS"))
    #expect(table.contains("| devdax no align | refused EINVAL |"))
  }

  @Test func aKernelThatAnswersOtherwiseIsADifference() throws {
    var run = try Self.run(.linux6_12)
    // The lab's probe saw the shared page-cache file pinned (as 6.1 would).
    let i = try #require(run.report?.probes.firstIndex { $0.id == "vfio-type1v2.pagecache-shared.rw" })
    run.report!.probes[i].outcome = .pinned
    run.report!.probes[i].errno = nil
    // The kernel mapped device-DAX at an unaligned address.
    run.misuse![.devdaxUnalignedMmap] = .ok
    let rows = Dictionary(LabCheckVM.rows(run).map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
    let pagecache = try #require(rows["pagecache share=on"])
    #expect(!pagecache.agrees)
    #expect(pagecache.problems.contains("check predicts refused EFAULT [gup-file-dirty-tracking], the kernel answered pinned (vfio-type1v2.pagecache-shared.rw)"))
    #expect(pagecache.problems.contains("--probe measured refused EFAULT, the lab's probe pinned"))
    let devdax = try #require(rows["devdax no align"])
    #expect(devdax.problems == ["check predicts refused EINVAL [devdax-mmap-align], the kernel answered pinned (devdax.unaligned-mmap)"])
    #expect(rows.values.filter(\.agrees).count == LabCheckVM.cases.count - 2)
    #expect(LabCheckVM.markdown(Array(rows.values)).contains("≠ refused EFAULT"))
  }

  @Test func aCaseTheGuestDidNotAnswerIsADifference() throws {
    var run = try Self.run(.linux6_1)
    let text = String(decoding: run.exec!.output, as: UTF8.self)
    // The memfd case cut off, and check failing on the xfs one.
    let cut = text.components(separatedBy: "@@case memfd")[0]
    let broken = cut.replacingOccurrences(of: "@@case fsdax-xfs share=on\n{", with: "@@case fsdax-xfs share=on\nnot json {")
    run.exec!.output = Array(broken.utf8)
    let rows = Dictionary(LabCheckVM.rows(run).map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
    #expect(rows["memfd"]?.problems == ["the guest printed nothing for this case"])
    #expect(rows["fsdax-xfs share=on"]?.problems.first?.hasPrefix("daxpin check exit 1, no report") == true)
    run.exec = nil
    #expect(LabCheckVM.rows(run).allSatisfy { $0.problems.last == "the guest printed nothing for this case (no exec result)" })
  }

  /// The script as the guest's shell reads it: each case's words reach daxpin whole, the
  /// variables expanded (a stand-in `daxpin` on PATH prints its arguments one per line).
  @Test(.enabled(if: FileManager.default.fileExists(atPath: "/bin/busybox"), "needs static busybox"))
  func theScriptPassesEachWordWhole() throws {
    let dir = NSTemporaryDirectory() + "daxpin-checkvm-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir + "/bin", withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try "#!/bin/sh\nfor a in \"$@\"; do printf '<%s>\\n' \"$a\"; done\nexit 1\n".write(toFile: dir + "/bin/daxpin", atomically: true, encoding: .utf8)
    chmod(dir + "/bin/daxpin", 0o755)
    var vars = LabLayout.standard.execVariables(.memmap)
    vars[0].1 = "/mnt/with space"
    let env = vars.map { "\($0.0)=\(LabExec.shellQuoted($0.1))" }.joined(separator: " ")
    try ("PATH=\(dir)/bin:$PATH \(env)\nexport PATH " + vars.map(\.0).joined(separator: " ") + "\n" + LabCheckVM.script)
      .write(toFile: dir + "/script", atomically: true, encoding: .utf8)
    let out = try ExecRunner.spawn(["/bin/busybox", "sh", dir + "/script"], stdout: dir + "/out")
    let printed = LabCheckVM.split(Array(out.utf8))
    #expect(printed.count == LabCheckVM.cases.count)
    for c in LabCheckVM.cases {
      let words = ["check", "qemu", "--json", "--probe", "--"] + LabCheckVM.arguments(c).map { Self.expand($0, vars) }
      #expect(printed[c.name]?.json == words.map { "<\($0)>\n" }.joined(), "\(c.name)")
      #expect(printed[c.name]?.status == 1)
    }
  }
}
