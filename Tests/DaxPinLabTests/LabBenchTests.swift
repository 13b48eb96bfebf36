import DaxPinCore
import Foundation
import Testing

@testable import DaxPinLab

@Suite("lab --bench: the guest's bench sections")
struct LabBenchTests {
  static let report = """
    {"backend":"linux","host":{"arch":"x86_64","hostname":"guest"},"iterations":10,"kernel":"6.1.0-50-amd64",
     "requested_bytes":67108864,"schema":"daxpin/bench","schema_version":{"major":1,"minor":0},
     "summary":{"exit_code":0,"failed":0,"measured":1,"refused":1,"skipped":0},"tool":{"name":"daxpin","version":"0.1.0"},
     "results":[
      {"bytes":67108864,"gib_per_s":3.0,"interface":"vfio-type1v2","iterations":10,"memory":"devdax","pinned_bytes":738197504,
       "pin_ns":{"median":10,"p99":12,"min":8,"max":12},"unpin_ns":{"median":3,"p99":3,"min":2,"max":3},
       "reductions":[],"requested_bytes":67108864,"status":"measured","unpinned_bytes":738197504},
      {"errno":95,"interface":"io_uring","iterations":0,"memory":"devdax","pinned_bytes":0,"reductions":[],
       "requested_bytes":67108864,"status":"refused","unpinned_bytes":0}]}
    """
  static let pinbench = """
    {"interface":"vfio-type1v2","memory":"devdax","bytes":67108864,"iterations":10,"gib_per_s":2.5,"pin_median_ns":12,"pin_p99_ns":14,"pin_min_ns":9,"unpin_median_ns":4,"unpin_min_ns":3}
    """

  @Test func bothSectionsAreKeptForTheFilesNextToTheReportAndCompared() throws {
    let console = LabConsole.parse(
      "===DAXPIN-BEGIN bench===\n\(Self.report)\n===DAXPIN-END bench rc=0===\n===DAXPIN-BEGIN pinbench===\n\(Self.pinbench)\n===DAXPIN-END pinbench rc=0===\n")
    let c = LabBench.collect(console)
    #expect(c.error == nil)
    let report = try #require(c.report)
    #expect(report.results.map(\.status) == [.measured, .refused])
    #expect(c.pinbench.count == 1 && c.pinbench.first?.gibPerSecond == 2.5)
    #expect(c.files.map(\.0) == ["-bench.json", "-pinbench.jsonl"])
    #expect(try ReportJSON.decode(BenchReport.self, from: c.files[0].1) == report)
    #expect(c.files[1].1.contains("\"pin_median_ns\":12"))
    #expect(LabBench.comparison(report, c.pinbench) == "  vfio-type1v2.devdax: daxpin 3.00 GiB/s, C 2.50 GiB/s, ratio 1.200, best-case ratio 1.200\n")
  }

  @Test func aMissingOrBrokenReportIsSaid() throws {
    #expect(LabBench.collect(LabConsole.parse("")).error == "no bench report on the console")
    let broken = LabConsole.parse("===DAXPIN-BEGIN bench===\n{\"schema\":\n===DAXPIN-END bench rc=2===\n")
    #expect(LabBench.collect(broken).error == "the bench report is not valid JSON (daxpin exit 2)")
  }

  @Test func theRunArchiveCarriesTheBenchArgumentsAndPinbench() {
    let conf = Initramfs.config(pmem: .memmap, modules: [], bench: LabBench.defaultArguments)
    #expect(conf.contains("BENCH_ARGS=\"--size 64M --iterations 10\"\n"))
    #expect(!Initramfs.config(pmem: .memmap, modules: []).contains("BENCH_ARGS"), "without --bench the guest runs no bench")
    let archive = Initramfs.runArchive(pmem: .memmap, modules: [], bench: "--size 8M", extra: [("/bin/pinbench", [0x7f, 0x45], true)])
    #expect(String(decoding: archive, as: UTF8.self).contains("bin/pinbench"))
  }
}
