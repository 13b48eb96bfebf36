import DaxPinCore
import Foundation
import Testing

/// docs/report.schema.json (JSON Schema draft 2020-12) holds every report daxpin writes: the fake
/// backend's for every profile and topology, narrowed runs, a lab report, and a real probe on
/// this machine, validated by python3-jsonschema. The schema has no nulls and arrays are always
/// arrays, so a report that breaks either rule fails here.
@Suite("docs/report.schema.json", .serialized)
struct ReportSchemaTests {
  static let schema = repositoryRoot.appendingPathComponent("docs/report.schema.json").path

  static let profiles = ["linux-4.14", "linux-5.10", "linux-6.1", "linux-6.12", "linux-latest", "linux-7.3-iommufd"]
  static let topologies = ["fsdax+devdax+vfio", "devdax-only", "no-pmem", "no-vfio"]

  /// The schema is not vacuous: it refuses a null, an array that is not an array, a probe
  /// whose errno contradicts its outcome, an unknown field, and a fake report without
  /// `simulated`.
  @Test(.enabled(if: External.pythonWithJSONSchema != nil, "python3 with jsonschema is not installed (scripts/setup.sh installs python3-jsonschema)"))
  func schemaRefusesWhatDaxpinNeverWrites() throws {
    let files = try MatrixFiles()
    let good = try files.fake
    var bad: [(String, [String: Any])] = []
    var json = good
    json["lab"] = NSNull()
    bad.append(("null", json))
    var inventory = try #require(good["inventory"] as? [String: Any])
    inventory["hugetlb"] = ["page_size_kb": 2048, "total": 1, "free": 1]
    json = good
    json["inventory"] = inventory
    bad.append(("object for an array", json))
    bad.append(("pinned with an errno", try MatrixFiles.editProbe(good, 0) { $0["errno"] = 14; $0["errno_name"] = "EFAULT" }))
    bad.append(("refused without an errno", try MatrixFiles.editProbe(good, 0) { $0["outcome"] = "refused" }))
    bad.append(("unknown field", try MatrixFiles.editProbe(good, 0) { $0["colour"] = "red" }))
    bad.append(("unknown kind", try MatrixFiles.editProbe(good, 0) { p in
      var m = p["memory"] as! [String: Any]
      m["kind"] = "fsdax-btrfs-shared"
      p["memory"] = m
    }))
    bad.append(("unsafe on anon", try MatrixFiles.editProbe(good, 0) { $0["unsafe"] = true }))
    json = good
    json["simulated"] = nil
    bad.append(("fake without simulated", json))
    json = good
    json["probes"] = NSNull()
    bad.append(("null probes", json))
    try files.expectSchema(Self.schema, refuses: bad, accepts: good)
  }
}

/// In the serialized probe suite: the real probe must not run beside another test's (the
/// leftover checks would see its private directory).
extension ProbeCommandTests {
  /// Every report the probe writes is valid: the fake backend's for every profile and topology,
  /// a narrowed run, a lab report, an edited "real" report, and a real probe on this machine.
  @Test(.enabled(if: External.pythonWithJSONSchema != nil, "python3 with jsonschema is not installed (scripts/setup.sh installs python3-jsonschema)"))
  func everyReportTheProbeWritesIsValid() throws {
    let files = try MatrixFiles()
    var paths: [String] = []
    for profile in ReportSchemaTests.profiles {
      for topology in ReportSchemaTests.topologies {
        let path = files.dir + "/\(profile)-\(topology).json"
        let r = try Run.daxpin(["probe", "--backend", "fake", "--profile", profile, "--topology", topology, "--quiet", "--output", path])
        #expect([0, 1, 4].contains(r.status), "\(profile) \(topology): \(r.stderr)")
        paths.append(path)
      }
    }
    // Narrowed runs: fewer probes, the same document.
    let narrow = try Run.daxpin(["probe", "--backend", "fake", "--profile", "linux-6.12", "--interface", "io_uring", "--kind", "devdax", "--json"])
    paths.append(try files.write("narrow.json", narrow.stdout))
    // A lab report: what `daxpin lab` writes (LabInfo filled as the lab fills it).
    var lab = try ReportJSON.decode(Report.self, from: files.fakeText)
    lab.lab = LabInfo(
      kernel: "debian-6.1", packageVersion: "6.1.176-1", pmem: "nvdimm", accel: "tcg", accelReason: "no /dev/kvm", bootSeconds: 12.5, probeSeconds: 5,
      totalSeconds: 27.25, initramfsBytes: 12_345_678)
    paths.append(try files.write("lab.json", ReportJSON.encode(lab)))
    // Every pmem mode, with what the lab always fills in (`boot`) and what `--timings` adds.
    for mode in PmemMode.allCases {
      lab.lab = LabInfo(
        kernel: "debian-6.12", packageVersion: "6.12.107-1", pmem: mode.rawValue, accel: "tcg", accelReason: "no /dev/kvm", bootSeconds: 7,
        probeSeconds: 3.3, totalSeconds: 32.9, initramfsBytes: 44_000_000, boot: "pvh",
        timings: [LabTiming(step: "kernel", seconds: 4.71), LabTiming(step: "mkfs", seconds: 9.16)], prepareSeconds: 1.77, initramfsCached: true)
      lab.lab?.qemuCPUSeconds = 15.29
      paths.append(try files.write("lab-\(mode.rawValue).json", ReportJSON.encode(lab)))
    }
    // The report `report matrix` tests edit into a real one.
    paths.append(try files.write("edited-real.json", json: files.real))
    // A real probe on this machine (root: every interface; otherwise it exits 2 and is skipped).
    if isRoot {
      let path = files.dir + "/real.json"
      let r = try Run.daxpin(["probe", "--quiet", "--output", path])
      #expect([0, 1, 4].contains(r.status), "\(r.stderr)")
      paths.append(path)
    }
    #expect(paths.count == ReportSchemaTests.profiles.count * ReportSchemaTests.topologies.count + 3 + PmemMode.allCases.count + (isRoot ? 1 : 0))
    let v = try External.validateJSON(schema: ReportSchemaTests.schema, files: paths)
    #expect(v.status == 0, "\(v.stdout)\(v.stderr)")
    #expect(v.stdout == "valid \(paths.count)\n")
  }

}
