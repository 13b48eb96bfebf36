import DaxPinCore
import Foundation
import Synchronization
import Testing

@testable import DaxPinLab

/// Drives `Lab.run` with a stand-in for qemu-system-x86_64: a shell script that writes a chosen
/// console into the `-serial file:` path and exits (or hangs), so panic, timeout and
/// missing-report handling are tested without booting. The kernel is a built-in-only bzImage stub.
///
/// Each kernel is a directory of its own (`<dir>/<name>/vmlinuz-<name>`) holding what the stand-in
/// does for it: `console.txt` to print, `delay` seconds to wait first, `hang` to never exit. The
/// stand-in copies the initrd it was given to `initrd-<pmem>.cpio` there, lists the pmem backing
/// files it was given (path, size, mode, as they were while it ran) in `files-<pmem>`, and logs its start and
/// end (monotonic seconds from /proc/uptime) to `<dir>/log`.
final class StandInQEMU: @unchecked Sendable {
  let dir: String
  let script: String
  var kernels: [String] = []

  init() throws {
    dir = NSTemporaryDirectory() + "daxpin-lab-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    script = dir + "/qemu"
    try """
      #!/bin/sh
      prev=""
      files=""
      for a in "$@"; do
        case "$a" in file:*) out="${a#file:}";; esac
        case "$a" in *mem-path=*) f="${a#*mem-path=}"; f="${f%%,*}"; files="$files$f $(stat -c '%s %a' "$f" 2>/dev/null || echo missing)\n";; esac
        case "$prev" in -kernel) kernel="$a";; -initrd) initrd="$a";; -append) append="$a";; esac
        prev="$a"
      done
      k=$(dirname "$kernel")
      pmem=$(echo "$append" | tr ' ' '\n' | grep '^daxpin.pmem=' | cut -d= -f2)
      cp "$initrd" "$k/initrd-$pmem.cpio"
      printf "$files" > "$k/files-$pmem"
      echo "start $(basename $k)-$pmem $(cut -d' ' -f1 /proc/uptime)" >> '\(dir)/log'
      [ -f "$k/delay" ] && sleep "$(cat $k/delay)"
      if [ -f "$k/pace" ]; then
        # Marks come out as a guest prints them: one every `pace` seconds.
        while IFS= read -r line; do
          case "$line" in "DAXPIN-LAB: t="*) sleep "$(cat $k/pace)";; esac
          printf '%s\n' "$line" >> "$out"
        done < "$k/console.txt"
      else
        cat "$k/console.txt" > "$out"
      fi
      if [ -f "$k/hang" ]; then sleep 60 & echo "$$ $!" > "$k/pids"; wait; fi
      echo "end $(basename $k)-$pmem $(cut -d' ' -f1 /proc/uptime)" >> '\(dir)/log'
      exit 0
      """.write(toFile: script, atomically: true, encoding: .utf8)
    try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script)
  }

  /// The old single-kernel form.
  convenience init(console: String, hang: Bool = false) throws {
    try self.init()
    try addKernel("bzImage", console: console, hang: hang)
  }

  deinit { try? FileManager.default.removeItem(atPath: dir) }

  /// Adds a kernel (a directory with a bzImage stub) and what its guest prints.
  @discardableResult
  func addKernel(_ name: String, console: String, delay: Double = 0, hang: Bool = false, pace: Double? = nil) throws -> String {
    let k = "\(dir)/\(name)"
    try FileManager.default.createDirectory(atPath: k, withIntermediateDirectories: true)
    let image = name == "bzImage" ? "\(k)/bzImage" : "\(k)/vmlinuz-\(name)"
    try FakeKernel.image(release: "6.99.0-lab").write(to: URL(fileURLWithPath: image))
    try console.write(toFile: k + "/console.txt", atomically: true, encoding: .utf8)
    if delay > 0 { try "\(delay)".write(toFile: k + "/delay", atomically: true, encoding: .utf8) }
    if hang { try "".write(toFile: k + "/hang", atomically: true, encoding: .utf8) }
    if let pace { try "\(pace)".write(toFile: k + "/pace", atomically: true, encoding: .utf8) }
    kernels.append(image)
    return image
  }

  static var initScript: String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
      + "/scripts/lab/init"
  }

  func options(pmem: [PmemMode] = [.memmap], timeout: Double = 30, jobs: Int = 1, cache: String? = nil, initScript: String? = nil)
    -> LabOptions
  {
    LabOptions(
      kernels: kernels.map { .path($0) }, pmem: pmem, accel: .tcg, outputDirectory: dir + "/out", cacheDirectory: cache ?? dir + "/cache",
      timeoutSeconds: timeout, refresh: false, daxpinBinary: "/bin/true", initScript: initScript ?? Self.initScript,
      qemuBinary: script, jobs: jobs)
  }

  func run(timeout: Double = 30) -> LabRun {
    Lab(options: options(timeout: timeout), progress: { _ in }).run()[0]
  }

  /// `start`/`end` lines of the stand-in's log: (event, run, uptime).
  var log: [(String, String, Double)] {
    ((try? String(contentsOfFile: dir + "/log", encoding: .utf8)) ?? "").split(separator: "\n").compactMap {
      let f = $0.split(separator: " ")
      guard f.count == 3, let t = Double(f[2]) else { return nil }
      return (String(f[0]), String(f[1]), t)
    }
  }
}

/// Collects progress lines from several threads.
final class ProgressLines: Sendable {
  let lines = Mutex<[String]>([])
  var all: [String] { lines.withLock { $0 } }
  func add(_ s: String) { lines.withLock { $0.append(s) } }
}

/// The archives of an initrd, in order: each a list of (name, contents) up to its TRAILER!!!.
func cpioArchives(_ bytes: [UInt8]) -> [[(String, [UInt8])]] {
  var archives: [[(String, [UInt8])]] = []
  var current: [(String, [UInt8])] = []
  var i = 0
  func align(_ n: Int) -> Int { (n + 3) & ~3 }
  func hex(_ at: Int) -> Int { Int(String(decoding: bytes[at..<(at + 8)], as: UTF8.self), radix: 16) ?? 0 }
  while i + 110 <= bytes.count {
    guard String(decoding: bytes[i..<(i + 6)], as: UTF8.self) == "070701" else { break }
    let size = hex(i + 6 + 6 * 8), nameSize = hex(i + 6 + 11 * 8)
    let name = String(decoding: bytes[(i + 110)..<(i + 110 + nameSize - 1)], as: UTF8.self)
    let dataStart = align(i + 110 + nameSize)
    let data = Array(bytes[dataStart..<(dataStart + size)])
    i = align(dataStart + size)
    if name == "TRAILER!!!" {
      archives.append(current)
      current = []
    } else {
      current.append((name, data))
    }
  }
  return archives
}

let toolsInstalled = ["/usr/bin/ndctl", "/usr/bin/daxctl", "/usr/sbin/mkfs.xfs", "/bin/busybox"].allSatisfy {
  FileManager.default.fileExists(atPath: $0)
}

@Suite("lab runs against a stand-in QEMU", .serialized, .enabled(if: toolsInstalled, "needs scripts/setup.sh"))
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

  /// A run's file that cannot be written (here a directory stands at the report's name) is
  /// said, and kept as a write error; the report itself still reaches the summary.
  @Test func aReportThatCannotBeWrittenIsSaidAndTheRunKeepsIt() throws {
    let q = try StandInQEMU(console: "DAXPIN-LAB: kernel 6.99.0-lab\n===DAXPIN-BEGIN probe===\n\(Self.report)===DAXPIN-END probe rc=4===\n")
    try FileManager.default.createDirectory(atPath: q.dir + "/out/custom-bzImage-memmap.json", withIntermediateDirectories: true)
    let progress = ProgressLines()
    let run = Lab(options: q.options(), progress: progress.add).run()[0]
    #expect(run.error == nil)
    #expect(run.report != nil && run.reportPath == nil)
    #expect(run.writeErrors == ["\(q.dir)/out/custom-bzImage-memmap.json: EISDIR"])
    #expect(progress.all.contains("custom-bzImage-memmap: cannot write \(q.dir)/out/custom-bzImage-memmap.json: EISDIR"), "\(progress.all)")
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

  @Test func pmemBackingFilesArePrivateAndRemoved() throws {
    let q = try StandInQEMU(console: "DAXPIN-LAB: kernel 6.99.0-lab\n===DAXPIN-BEGIN probe===\n\(Self.report)===DAXPIN-END probe rc=4===\n")
    let runs = Lab(options: q.options(pmem: [.virtioPmem, .cxl]), progress: { _ in }).run()
    #expect(runs.map(\.error) == [nil, nil])
    #expect(runs.compactMap { $0.report?.lab?.pmem } == ["virtio-pmem", "cxl"])
    for (mode, expected) in [("virtio-pmem", [512, 512, 512]), ("cxl", [LabLayout.standard.cxlDeviceMiB, LabLayout.standard.cxlLabelMiB])] {
      let listed = try String(contentsOfFile: "\(q.dir)/bzImage/files-\(mode)", encoding: .utf8).split(separator: "\n").map { $0.split(separator: " ") }
      #expect(listed.map { Int($0[1]) } == expected.map { $0 << 20 }, "\(mode): sized as the layout says")
      #expect(listed.allSatisfy { $0[2] == "600" }, "\(mode): only root reads them")
      for f in listed { #expect(!FileManager.default.fileExists(atPath: String(f[0])), "\(f[0]) is removed with the run") }
    }
  }

  @Test func aPmemModeTheKernelLacksIsNotRunAndSaysWhy() throws {
    let q = try StandInQEMU()
    // A kernel tree with its config: everything but CXL.
    let root = q.dir + "/tree"
    try FileManager.default.createDirectory(atPath: root + "/boot", withIntermediateDirectories: true)
    try FakeKernel.image(release: "5.10.0-lab").write(to: URL(fileURLWithPath: root + "/boot/vmlinuz-5.10.0-lab"))
    try "CONFIG_LIBNVDIMM=m\nCONFIG_BLK_DEV_PMEM=m\nCONFIG_X86_PMEM_LEGACY=m\n# CONFIG_CXL_BUS is not set\n".write(
      toFile: root + "/boot/config-5.10.0-lab", atomically: true, encoding: .utf8)
    try "DAXPIN-LAB: kernel 5.10.0-lab\n===DAXPIN-BEGIN probe===\n\(Self.report)===DAXPIN-END probe rc=4===\n".write(
      toFile: root + "/boot/console.txt", atomically: true, encoding: .utf8)
    var options = q.options(pmem: [.memmap, .cxl])
    options.kernels = [.path(root)]
    let progress = ProgressLines()
    let runs = Lab(options: options, progress: progress.add).run()
    #expect(runs.map(\.pmem) == [.memmap, .cxl])
    #expect(runs[0].report != nil && runs[0].notSupported == nil)
    let cxl = runs[1]
    #expect(cxl.error == nil, "no failure of the lab")
    #expect(cxl.report == nil)
    #expect(cxl.notSupported?.hasPrefix("kernel 5.10.0-lab lacks the CXL bus: CONFIG_CXL_BUS") == true)
    #expect(q.log.map(\.1) == ["boot-memmap", "boot-memmap"], "the cxl guest never boots")
    #expect(progress.all.contains { $0.hasPrefix("custom-tree-cxl: not supported: kernel 5.10.0-lab lacks the CXL bus") })
    let table = LabSummary.table(runs)
    #expect(table.contains("n/a: custom-tree cxl: kernel 5.10.0-lab lacks the CXL bus"))
    #expect(table.split(separator: "\n").contains { $0.contains(" cxl ") && $0.contains("n/a") })
    #expect(LabCheck.problems(runs).allSatisfy { !$0.contains("cxl") }, "a mode the kernel lacks is no check failure")
  }

  @Test func missingKernelPathIsAnError() throws {
    let options = LabOptions(
      kernels: [.path("/nonexistent/bzImage")], pmem: [.memmap, .nvdimm], accel: .tcg, outputDirectory: NSTemporaryDirectory() + "x",
      cacheDirectory: NSTemporaryDirectory() + "y", timeoutSeconds: 5, refresh: false, daxpinBinary: "/bin/true", initScript: "/dev/null")
    let runs = Lab(options: options, progress: { _ in }).run()
    #expect(runs.count == 2, "every pmem run of that kernel gets the error; the others go on")
    #expect(runs.allSatisfy { $0.error == "--kernel /nonexistent/bzImage: no such file or directory" })
  }

  static func console(_ name: String) -> String {
    "DAXPIN-LAB: kernel 6.99.0-lab \(name)\n===DAXPIN-BEGIN probe===\n\(Self.report)===DAXPIN-END probe rc=4===\n"
  }

  @Test func jobsKeepTheRequestOrderWhateverFinishesFirst() throws {
    let q = try StandInQEMU()
    try q.addKernel("a", console: Self.console("a"), delay: 2)
    try q.addKernel("b", console: Self.console("b"))
    try q.addKernel("c", console: Self.console("c"), delay: 1)
    let progress = ProgressLines()
    let runs = Lab(options: q.options(pmem: [.memmap, .nvdimm], jobs: 3), progress: progress.add).run()
    #expect(runs.map { "\($0.kernel)-\($0.pmem.rawValue)" } == [
      "custom-vmlinuz-a-memmap", "custom-vmlinuz-a-nvdimm", "custom-vmlinuz-b-memmap", "custom-vmlinuz-b-nvdimm",
      "custom-vmlinuz-c-memmap", "custom-vmlinuz-c-nvdimm",
    ])
    #expect(runs.allSatisfy { $0.error == nil }, "\(runs.compactMap(\.error))")
    // Three at once: b's runs finished before a's, and some runs overlapped.
    let log = q.log
    let end = Dictionary(log.filter { $0.0 == "end" }.map { ($0.1, $0.2) }, uniquingKeysWith: max)
    let start = Dictionary(log.filter { $0.0 == "start" }.map { ($0.1, $0.2) }, uniquingKeysWith: min)
    #expect(end["b-memmap"]! < end["a-memmap"]!)
    #expect(start["a-nvdimm"]! < end["a-memmap"]!, "a's two runs ran at the same time")
    // Every line after the accelerator names its kernel or run.
    for line in progress.all.dropFirst() {
      #expect(["custom-vmlinuz-a", "custom-vmlinuz-b", "custom-vmlinuz-c"].contains { line.hasPrefix($0 + ":") || line.hasPrefix($0 + "-") }, "\(line)")
    }
    #expect(LabSummary.table(runs).split(separator: "\n").dropFirst(1).map { $0.split(separator: " ")[0] } == [
      "custom-vmlinuz-a", "custom-vmlinuz-a", "custom-vmlinuz-b", "custom-vmlinuz-b", "custom-vmlinuz-c", "custom-vmlinuz-c",
    ])
  }

  @Test func aHangingGuestIsKilledAloneAndTheOthersGoOn() throws {
    let q = try StandInQEMU()
    try q.addKernel("hung", console: "DAXPIN-LAB: kernel 6.99.0-lab\n", hang: true)
    try q.addKernel("fine", console: Self.console("fine"), delay: 0.5)
    let t0 = Date()
    let runs = Lab(options: q.options(timeout: 4, jobs: 2), progress: { _ in }).run()
    #expect(runs[0].error == "timeout after 4 s")
    #expect(runs[1].error == nil)
    #expect(runs[1].report != nil)
    // Had it waited, it would have ended after the hung one's timeout: a comparison, not a
    // threshold a loaded machine could cross.
    #expect(runs[1].totalSeconds < runs[0].totalSeconds, "the other guest did not wait for the hung one")
    #expect(Date().timeIntervalSince(t0) < 20)
    // The hung stand-in and its `sleep 60` went with the kill of its process group.
    let pids = try String(contentsOfFile: q.dir + "/hung/pids", encoding: .utf8).split(whereSeparator: \.isWhitespace)
    #expect(pids.count == 2)
    // (SIGKILL is delivered at once, but a process takes a moment to die.)
    let deadline = Date().addingTimeInterval(3)
    while pids.contains(where: { alive(String($0)) }), Date() < deadline { usleep(50_000) }
    for pid in pids { #expect(!alive(String(pid)), "process \(pid) is left") }
  }

  @Test func eachRunAppendsItsOwnArchiveToTheSharedBase() throws {
    let q = try StandInQEMU()
    let kernel = try q.addKernel("k", console: Self.console("k"))
    let runs = Lab(options: q.options(pmem: [.memmap, .nvdimm], jobs: 2), progress: { _ in }).run()
    #expect(runs.allSatisfy { $0.error == nil })
    let dir = (kernel as NSString).deletingLastPathComponent
    let memmap = [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/initrd-memmap.cpio")))
    let nvdimm = [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/initrd-nvdimm.cpio")))
    let cached = try FileManager.default.contentsOfDirectory(atPath: q.dir + "/cache/initramfs").filter { $0.hasSuffix(".cpio") }
    #expect(cached.count == 1)
    let base = [UInt8](try Data(contentsOf: URL(fileURLWithPath: q.dir + "/cache/initramfs/" + cached[0])))
    #expect(Array(memmap.prefix(base.count)) == base)
    #expect(Array(nvdimm.prefix(base.count)) == base)
    for (bytes, mode) in [(memmap, "memmap"), (nvdimm, "nvdimm")] {
      let archives = cpioArchives(bytes)
      #expect(archives.count == 2)
      #expect(archives[0].contains { $0.0 == "init" })
      #expect(!archives[0].contains { $0.0 == "etc/daxpin-lab.conf" }, "the base holds nothing of a run")
      #expect(archives[1].map(\.0) == ["etc", "etc/daxpin-lab.conf"])
      let conf = String(decoding: archives[1].last!.1, as: UTF8.self)
      #expect(conf.hasPrefix("PMEM_MODE=\(mode)\n"))
      #expect(bytes.count - base.count < 1024)
    }
  }

  @Test func theBaseInitramfsIsCachedByContent() throws {
    let q = try StandInQEMU()
    try q.addKernel("k", console: Self.console("k"))
    let cache = q.dir + "/shared-cache"
    let first = Lab(options: q.options(cache: cache), progress: { _ in }).run()[0]
    let second = Lab(options: q.options(cache: cache), progress: { _ in }).run()[0]
    #expect(first.initramfsCached == false)
    #expect(second.initramfsCached == true)
    #expect(second.error == nil)
    // Another init script is other content: a new base, the old one kept.
    let otherInit = q.dir + "/init"
    try (String(contentsOfFile: StandInQEMU.initScript, encoding: .utf8) + "# changed\n").write(toFile: otherInit, atomically: true, encoding: .utf8)
    let third = Lab(options: q.options(cache: cache, initScript: otherInit), progress: { _ in }).run()[0]
    #expect(third.initramfsCached == false)
    #expect(try FileManager.default.contentsOfDirectory(atPath: cache + "/initramfs").filter { $0.hasSuffix(".cpio") }.count == 2)
    // A stub bzImage has no compressed payload: it boots as a bzImage, and the cache says why.
    #expect(third.boot == "bzimage")
  }

  @Test func timingsFollowTheGuestMarks() throws {
    let q = try StandInQEMU()
    // A mark every 0.3 s, as the guest's clock says.
    try q.addKernel("k", console: """
      DAXPIN-LAB: t=0.30 init
      DAXPIN-LAB: kernel 6.99.0-lab
      DAXPIN-LAB: t=0.60 modules
      DAXPIN-LAB: t=0.90 lists
      ===DAXPIN-BEGIN probe===
      \(Self.report)===DAXPIN-END probe rc=4===
      DAXPIN-LAB: t=1.20 probe
      DAXPIN-LAB: t=1.50 sync

      """, pace: 0.3)
    var options = q.options()
    options.timings = true
    let run = Lab(options: options, progress: { _ in }).run()[0]
    #expect(run.error == nil)
    let steps = run.timings.map(\.step)
    #expect(steps == ["initramfs", "qemu+firmware", "kernel", "modules", "lists", "probe", "sync", "shutdown", "collect"])
    // Which steps there are, and that each has a duration; how long each took depends on the
    // host's load (a step whose guest and host spans disagree is measured by the host), so the
    // figures belong to `--timings` and scripts/bench-lab.sh, not to assertions here.
    #expect(run.timings.allSatisfy { $0.seconds >= 0 })
    #expect(run.report?.lab?.timings?.map(\.step) == steps)
    let saved = try ReportJSON.decode(Report.self, from: String(contentsOfFile: run.reportPath!, encoding: .utf8))
    #expect(saved.lab?.timings?.count == steps.count)
    #expect(saved.lab?.initramfsCached == false)
    #expect(LabSummary.timings([run]).contains("custom-vmlinuz-k-memmap"))
  }
}


/// A process that exists and is not a zombie (a killed process waits as one for its reaper).
func alive(_ pid: String) -> Bool {
  guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return false }
  return stat[stat.index(after: close)...].split(separator: " ").first != "Z"
}
