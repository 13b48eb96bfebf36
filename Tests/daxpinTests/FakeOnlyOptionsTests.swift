import DaxPinCore
import Foundation
import Testing

/// `--profile` and `--topology` describe the simulated kernel. Given without `--backend fake`
/// they used to be ignored without a word: `sudo daxpin probe --profile linux-4.14`, meant as a
/// simulation, probed the real kernel, creating and pinning files.
extension ProbeCommandTests {
  @Test(arguments: [["--profile", "linux-4.14"], ["--topology", "no-pmem"], ["--backend", "linux", "--profile", "linux-6.1"]])
  func fakeOnlyOptionsWithoutTheFakeBackendAreAUsageError(_ options: [String]) throws {
    let r = try Run.daxpin(["probe", "--interface", "io_uring", "--kind", "anon"] + options)
    #expect(r.status == 64)
    #expect(r.stdout.isEmpty)
    #expect(r.stderr.split(separator: "\n").first == "Error: --profile and --topology describe the simulated kernel: add --backend fake")
  }

  @Test func fakeOnlyOptionsWithTheFakeBackendAreTaken() throws {
    let r = try Run.daxpin(["probe", "--backend", "fake", "--profile", "linux-4.14", "--topology", "no-pmem", "--json", "--kind", "anon"])
    #expect(r.status == 0)
    let report = try ReportJSON.decode(Report.self, from: r.stdout)
    #expect(report.kernel.release == "4.14.0-daxpin-fake")
    #expect(report.inventory.pmem.daxDevices.isEmpty)
  }
}
