import DaxPinCore
import Foundation
import Testing

/// Nested in the serialized ProbeCommandTests: real probes sweep dead runs' `.daxpin-*` directories.
extension ProbeCommandTests {
  /// `daxpin probe --contract-output FILE` (the lab's guest): the misuse answers it writes are the
  /// ones `daxpin contract` prints on the same kernel, and the report still goes to stdout.
  @Suite("daxpin probe --contract-output")
  struct ProbeContractOutputTests {
    @Test(.enabled(if: isRoot, "probe needs root"))
    func writesWhatContractPrints() throws {
      let dir = NSTemporaryDirectory() + "daxpin-contract-\(getpid())"
      try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
      defer { try? FileManager.default.removeItem(atPath: dir) }
      let file = dir + "/contract.json"
      let probe = try Run.daxpin(["probe", "--json", "--interface", "io_uring", "--kind", "anon", "--access", "rw", "--contract-output", file])
      #expect(probe.status == 0, "\(probe.stderr)")
      let report = try ReportJSON.decode(Report.self, from: probe.stdout)
      #expect(report.probes.map(\.id) == ["io_uring.anon.rw"])
      let written = try ReportJSON.decode(MisuseAnswers.self, from: String(contentsOfFile: file, encoding: .utf8))
      let contract = try Run.daxpin(["contract"])
      #expect(contract.status == 0, "\(contract.stderr)")
      #expect(!written.isEmpty)
      #expect(written == (try ReportJSON.decode(MisuseAnswers.self, from: contract.stdout)))
    }

    /// A contract file that cannot be written is said and is exit 2, after the report was printed.
    @Test(.enabled(if: isRoot, "probe needs root"))
    func anUnwritableFileIsAToolFailureAfterTheReport() throws {
      let probe = try Run.daxpin(["probe", "--json", "--interface", "io_uring", "--kind", "anon", "--access", "rw", "--contract-output", "/proc/version"])
      #expect(probe.status == 2)
      #expect(probe.stderr.contains("--contract-output"), "\(probe.stderr)")
      #expect((try? ReportJSON.decode(Report.self, from: probe.stdout)) != nil, "the report was printed")
    }
  }
}
