import DaxPinCore
import Foundation
import Testing

@Suite("daxpin bench on the command line")
struct BenchCommandTests {
  @Test func theFakeBackendPrintsTheTableAndTheJSON() throws {
    let text = try Run.daxpin(["bench", "--backend", "fake", "--size", "16M", "--iterations", "2"])
    #expect(text.status == 0, "\(text.stderr)")
    #expect(text.stdout.hasPrefix("SIMULATED: fake backend"))
    #expect(text.stdout.contains("io_uring      hugetlb-2m  16 MiB"))
    #expect(text.stdout.contains("  iommufd.*: no /dev/iommu (CONFIG_IOMMUFD)"))
    #expect(text.stdout.hasSuffix("9 measured, 1 refused, 5 skipped, 0 failed\n"))
    let json = try Run.daxpin(["bench", "--backend", "fake", "--size", "16M", "--iterations", "2", "--json", "--interface", "io_uring", "--memory", "thp"])
    #expect(json.status == 0)
    let report = try ReportJSON.decode(BenchReport.self, from: json.stdout)
    #expect(report.results.map(\.memory) == [.thp] && report.results[0].iterations == 2 && report.simulated == true)
  }

  @Test func usageErrorsAreOneLineAndExit64() throws {
    for (args, message) in [
      (["--size", "0"], "--size takes a positive number of bytes"),
      (["--size", "1GiB"], "--size takes a positive number of bytes"),
      (["--interface", "vfio-type1"], "bench times io_uring, vfio-type1v2 and iommufd, not vfio-type1"),
      (["--iterations", "0"], "--iterations takes 1 to 1000000"),
      (["--profile", "linux-6.1"], "--profile describes the simulated kernel: add --backend fake"),
    ] {
      let r = try Run.daxpin(["bench"] + args)
      #expect(r.status == 64, "\(args)")
      #expect(r.stderr.contains(message), "\(args): \(r.stderr)")
    }
  }

  @Test func withoutRootNothingIsTouched() throws {
    let r = try Run.daxpin(["bench", "--interface", "io_uring"], asUser: 65534)
    #expect(r.status == 2)
    #expect(r.stderr == "daxpin: bench needs root: it opens VFIO groups, /dev/iommu and /dev/dax and pins memory (run: sudo daxpin bench)\n")
  }
}
