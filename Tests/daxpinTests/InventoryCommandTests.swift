import DaxPinCore
import Foundation
import Testing

@Suite("daxpin inventory, end to end", .serialized)
struct InventoryCommandTests {
  @Test func jsonIsOneObjectWithTheRunningRelease() throws {
    let r = try Run.daxpin(["inventory", "--json"])
    #expect(r.status == 0)
    let inv = try ReportJSON.decode(Inventory.self, from: r.stdout)
    let release = try String(contentsOfFile: "/proc/sys/kernel/osrelease", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    #expect(inv.kernel.release == release)
    #expect(r.stdout.first == "{")
  }

  @Test func textSaysWhatIsAbsentAndExitsZero() throws {
    let r = try Run.daxpin(["inventory"])
    #expect(r.status == 0)
    #expect(r.stdout.contains("Kernel"))
    #expect(r.stdout.contains("Persistent memory"))
    // This machine class has no VFIO and no pmem: both must be named with a hint.
    let inv = try ReportJSON.decode(Inventory.self, from: try Run.daxpin(["inventory", "--json"]).stdout)
    if !inv.vfio.container { #expect(r.stdout.contains("ABSENT VFIO")) }
    if inv.pmem.buses.isEmpty { #expect(r.stdout.contains("ABSENT pmem: no NVDIMM bus")) }
    #expect(r.stderr.isEmpty)
  }

  @Test func emptyFixtureRootIsNotACrash() throws {
    let dir = NSTemporaryDirectory() + "daxpin-empty-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let r = try Run.daxpin(["inventory", "--root", dir])
    #expect(r.status == 0)
    #expect(r.stdout.contains("ABSENT kernel config: kernel config unreadable"))
    #expect(r.stdout.contains("ABSENT VFIO"))
    #expect(r.stderr.isEmpty)
  }

  @Test(.enabled(if: isRoot && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv"), "needs root to drop to nobody"))
  func nonRootGetsALineNotACrash() throws {
    let r = try Run.daxpin(["inventory"], asUser: 65534)
    #expect(r.status == 0)
    #expect(r.stdout.contains("ABSENT privileges: not running as root (uid 65534)"))
  }

  @Test func outputWritesTheSameJSON() throws {
    let path = NSTemporaryDirectory() + "daxpin-inv-\(UUID().uuidString).json"
    defer { try? FileManager.default.removeItem(atPath: path) }
    let r = try Run.daxpin(["inventory", "--json", "--output", path])
    #expect(r.status == 0)
    let written = try String(contentsOfFile: path, encoding: .utf8)
    #expect(try ReportJSON.decode(Inventory.self, from: written).kernel.release == (try ReportJSON.decode(Inventory.self, from: r.stdout)).kernel.release)
  }

  @Test func unwritableOutputIsExit2WithOneLine() throws {
    let r = try Run.daxpin(["inventory", "--output", "/nonexistent-dir/x.json"])
    #expect(r.status == 2)
    #expect(r.stderr == "daxpin: --output /nonexistent-dir/x.json: ENOENT\n")
  }

  @Test func usageErrorIs64() throws {
    let r = try Run.daxpin(["inventory", "--no-such-flag"])
    #expect(r.status == 64)
  }
}
