import DaxPinCore
import Foundation
import Testing

@testable import DaxPinLab

/// Drives `Lab.run` with a stand-in for qemu-system-x86_64: a shell script that writes a chosen
/// console into the `-serial file:` path and exits (or hangs), so panic, timeout and
/// missing-report handling are tested without booting. The kernel is a built-in-only bzImage stub.
final class StandInQEMU {
  let dir: String
  let script: String
  let kernel: String

  init(console: String, hang: Bool = false) throws {
    dir = NSTemporaryDirectory() + "daxpin-lab-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    kernel = dir + "/bzImage"
    try FakeKernel.image(release: "6.99.0-lab").write(to: URL(fileURLWithPath: kernel))
    try console.write(toFile: dir + "/console.txt", atomically: true, encoding: .utf8)
    script = dir + "/qemu"
    try """
      #!/bin/sh
      for a in "$@"; do case "$a" in file:*) out="${a#file:}";; esac; done
      cat '\(dir)/console.txt' > "$out"
      \(hang ? "sleep 60" : "exit 0")
      """.write(toFile: script, atomically: true, encoding: .utf8)
    try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script)
  }

  deinit { try? FileManager.default.removeItem(atPath: dir) }

  func run(timeout: Double = 30) -> LabRun {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let options = LabOptions(
      kernels: [.path(kernel)], pmem: [.memmap], accel: .tcg, outputDirectory: dir + "/out", cacheDirectory: dir + "/cache",
      timeoutSeconds: timeout, refresh: false, daxpinBinary: "/bin/true", initScript: root.path + "/scripts/lab/init",
      qemuBinary: script)
    return Lab(options: options, progress: { _ in }).run()[0]
  }
}

let toolsInstalled = ["/usr/bin/ndctl", "/usr/bin/daxctl", "/usr/sbin/mkfs.xfs", "/bin/busybox"].allSatisfy {
  FileManager.default.fileExists(atPath: $0)
}

@Suite("lab runs against a stand-in QEMU", .enabled(if: toolsInstalled, "needs scripts/setup.sh"))
struct LabRunTests {
  static let report: String = {
    let r = Report(
      toolVersion: "t", backend: .linux, host: .init(hostname: "guest", arch: "x86_64"),
      inventory: Inventory(
        kernel: KernelInfo(release: "6.99.0-lab"), privileges: Privileges(uid: 0, capIPCLock: true, memlockSoftBytes: nil, memlockHardBytes: nil),
        iommu: IOMMUInfo(), vfio: VFIOInfo(), iommufd: IOMMUFDInfo(present: false), ioUring: IOUringInfo(available: true), pmem: PmemInfo(),
        daxMounts: [], hugetlb: []),
      probes: [])
    return try! ReportJSON.encode(r)
  }()

  @Test func reportIsCollectedWithLabInfo() throws {
    let q = try StandInQEMU(console: "DAXPIN-LAB: kernel 6.99.0-lab\n===DAXPIN-BEGIN probe===\n\(Self.report)===DAXPIN-END probe rc=4===\n")
    let run = q.run()
    #expect(run.error == nil, "\(run.error ?? "")")
    #expect(run.report?.lab?.pmem == "memmap")
    #expect(run.report?.lab?.accel == "tcg")
    #expect(run.release == "6.99.0-lab")
    let saved = try String(contentsOfFile: try #require(run.reportPath), encoding: .utf8)
    #expect(try ReportJSON.decode(Report.self, from: saved).lab?.kernel == "custom-bzImage")
  }

  @Test func panicIsAnErrorWithTheConsoleTail() throws {
    let q = try StandInQEMU(console: "DAXPIN-LAB: kernel 6.99.0-lab\n[    2.1] Kernel panic - not syncing: VFS: Unable to mount root fs\n")
    let run = q.run()
    #expect(run.error == "kernel panic")
    #expect(run.consoleTail?.contains("Unable to mount root fs") == true)
    #expect(run.report == nil)
  }

  @Test func hangIsKilledAtTheTimeout() throws {
    let q = try StandInQEMU(console: "DAXPIN-LAB: kernel 6.99.0-lab\n", hang: true)
    let run = q.run(timeout: 2)
    #expect(run.error == "timeout after 2 s")
    #expect(run.totalSeconds < 20)
  }

  @Test func missingReportIsAnError() throws {
    let q = try StandInQEMU(console: "DAXPIN-LAB: kernel 6.99.0-lab\n[ 5.0] reboot: Power down\n")
    let run = q.run()
    #expect(run.error?.hasPrefix("no report on the console") == true)
    #expect(run.consoleTail?.contains("Power down") == true)
  }

  @Test func guestSetupErrorIsNamed() throws {
    let q = try StandInQEMU(console: "DAXPIN-LAB-ERROR: insmod /lib/modules/x/nd_e820.ko: unknown symbol\n")
    #expect(q.run().error == "guest setup failed: insmod /lib/modules/x/nd_e820.ko: unknown symbol")
  }

  @Test func garbledReportIsAnError() throws {
    let q = try StandInQEMU(console: "===DAXPIN-BEGIN probe===\n{\"schema\": \n===DAXPIN-END probe rc=2===\n")
    #expect(q.run().error == "the probe report between the markers is not valid JSON (daxpin exit 2)")
  }

  @Test func missingKernelPathIsAnError() throws {
    let options = LabOptions(
      kernels: [.path("/nonexistent/bzImage")], pmem: [.memmap, .nvdimm], accel: .tcg, outputDirectory: NSTemporaryDirectory() + "x",
      cacheDirectory: NSTemporaryDirectory() + "y", timeoutSeconds: 5, refresh: false, daxpinBinary: "/bin/true", initScript: "/dev/null")
    let runs = Lab(options: options, progress: { _ in }).run()
    #expect(runs.count == 2, "every pmem run of that kernel gets the error; the others go on")
    #expect(runs.allSatisfy { $0.error == "--kernel /nonexistent/bzImage: no such file or directory" })
  }
}
