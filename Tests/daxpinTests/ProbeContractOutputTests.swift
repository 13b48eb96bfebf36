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

extension ProbeCommandTests {
  /// Two options that write files must not name one file: `--output` and `--contract-output`.
  @Suite("daxpin probe --contract-output and --output")
  struct ContractAndReportDestinationTests {
    @Test func theSameFileTwiceIsAUsageError() throws {
      let dir = NSTemporaryDirectory() + "daxpin-same-\(getpid())"
      try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
      defer { try? FileManager.default.removeItem(atPath: dir) }
      for (report, contract) in [("\(dir)/a.json", "\(dir)/a.json"), ("\(dir)/./b.json", "\(dir)/b.json"), ("\(dir)//c.json", "\(dir)/../\((dir as NSString).lastPathComponent)/c.json")] {
        let r = try Run.daxpin(["probe", "--backend", "fake", "--json", "--output", report, "--contract-output", contract])
        #expect(r.status == 64, "\(report) \(contract): \(r.stderr)")
        #expect(r.stderr.contains("name the same file"), "\(r.stderr)")
        #expect(r.stdout.isEmpty)
      }
      #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty, "nothing written")
      let apart = try Run.daxpin(["probe", "--backend", "fake", "--json", "--output", "\(dir)/report.json", "--contract-output", "\(dir)/contract.json"])
      #expect(apart.status == 0, "\(apart.stderr)")
      #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == ["contract.json", "report.json"])
    }
  }

  /// Under a tight RLIMIT_NOFILE the truncate-held cells are not held beside the others: the
  /// io_uring cells answer the same with truncate-held in the run as without it.
  @Suite("truncate-held under a tight RLIMIT_NOFILE")
  struct TruncateHeldDescriptorTests {
    @Test(.enabled(if: isRoot, "probe needs root"))
    func otherCellsAnswerAsWithoutIt() throws {
      func ioUring(_ interfaces: String) throws -> [String: String] {
        let r = try Run.shell("ulimit -n 14 && exec \"$DAXPIN\" probe --json \(interfaces) --kind anon --kind memfd --kind pagecache-shared")
        #expect(r.signalled == nil, "\(r.stderr)")
        let report = try ReportJSON.decode(Report.self, from: r.stdout)
        return Dictionary(uniqueKeysWithValues: report.probes.filter { $0.interface == .ioUring }.map { ($0.id, "\($0.outcome) \($0.errnoName ?? "")") })
      }
      let alone = try ioUring("--interface io_uring")
      let beside = try ioUring("--interface io_uring --interface truncate-held")
      #expect(alone.count == 6)
      #expect(!alone.values.contains { $0.contains("EMFILE") }, "\(alone)")
      #expect(beside == alone)
    }
  }
}
