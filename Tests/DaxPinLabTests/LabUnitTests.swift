import DaxPinCore
import Foundation
import Testing

@testable import DaxPinLab

@Suite("lab pieces")
struct LabUnitTests {
  @Test func kernelSpecs() throws {
    #expect(try LabKernelSpec(parsing: "debian-6.1") == .debian(.v6_1))
    #expect(try LabKernelSpec(parsing: "source:7.3") == .source("7.3"))
    #expect(try LabKernelSpec(parsing: "/boot/vmlinuz").label == "custom-vmlinuz")
    #expect(throws: LabError.self) { try LabKernelSpec(parsing: "debian-4.19") }
    #expect(throws: LabError.self) { try LabKernelSpec(parsing: "source:") }
    #expect(DebianKernel.latest.suites == ["sid", "trixie-backports"])
  }

  @Test func mirrorFromDeb822AndOneLineSources() {
    let deb822 = """
      Types: deb
      URIs: http://mirror.example/debian
      Suites: bookworm bookworm-updates
      Components: main

      Types: deb
      URIs: http://mirror.example/debian-security
      Suites: bookworm-security
      Components: main
      """
    #expect(AptSources.debianMirror(in: AptSources.parseDeb822(deb822)) == "http://mirror.example/debian")
    let list = """
      # comment
      deb [arch=amd64 signed-by=/x.gpg] https://packages.vendor.example/apt stable main
      deb http://other.example/debian-security bookworm-security main
      deb http://other.example/debian bookworm main contrib
      """
    #expect(AptSources.debianMirror(in: AptSources.parseList(list)) == "http://other.example/debian")
    #expect(AptSources.debianMirror(in: AptSources.parseList("deb https://packages.vendor.example/apt nodistro main")) == nil)
  }

  @Test func qemuCommandLine() {
    let q = QEMUCommand(accel: .tcg, kernel: "/k", initrd: "/i", console: "/c", pmem: .memmap)
    let a = q.arguments
    #expect(a.first == "qemu-system-x86_64")
    #expect(a.contains("q35,kernel-irqchip=split"))
    #expect(a.contains("intel-iommu,intremap=on,caching-mode=on"))
    #expect(a.contains("edu,addr=\(String(LabLayout.standard.vfioSlot, radix: 16))"))
    #expect(a.contains("tcg"))
    #expect(a[a.firstIndex(of: "-smp")! + 1] == "1", "one vCPU under TCG")
    #expect(a.contains("file:/c"))
    #expect(q.kernelCommandLine.contains("intel_iommu=on"))
    #expect(q.kernelCommandLine.contains("memmap=512M!4096M memmap=512M!4672M memmap=512M!5248M"))
    #expect(!a.contains { $0.contains("nvdimm") })

    let n = QEMUCommand(accel: .kvm, kernel: "/k", initrd: "/i", console: "/c", pmem: .nvdimm, nvdimmFiles: ["/a", "/b", "/c"])
    #expect(n.arguments.contains("q35,kernel-irqchip=split,nvdimm=on"))
    #expect(n.arguments.contains("kvm"))
    #expect(n.arguments[n.arguments.firstIndex(of: "-smp")! + 1] == "2")
    #expect(n.arguments.filter { $0.hasPrefix("nvdimm,memdev=") }.count == 3)
    #expect(n.arguments.contains("memory-backend-file,id=nvmem1,share=on,mem-path=/b,size=514M,align=2M"))
    #expect(n.arguments.contains("nvdimm,memdev=nvmem1,id=nvdimm1,label-size=128K"))
    #expect(!n.kernelCommandLine.contains("memmap="))
    #expect(n.arguments.contains("2048M,slots=4,maxmem=6144M"))
  }

  @Test func accelAuto() {
    let noVirt = "flags\t\t: fpu vme de pse tsc msr pae\n"
    #expect(AccelChoice.auto(cpuinfo: noVirt, kvmNode: true, loadedModules: ["kvm"]).0 == .tcg)
    #expect(AccelChoice.auto(cpuinfo: noVirt, kvmNode: true, loadedModules: []).1.contains("no vmx/svm"))
    let vmx = "flags\t\t: fpu vmx sse\n"
    #expect(AccelChoice.auto(cpuinfo: vmx, kvmNode: true, loadedModules: ["kvm_intel", "kvm"]).0 == .kvm)
    #expect(AccelChoice.auto(cpuinfo: vmx, kvmNode: true, loadedModules: ["kvm"]).0 == .tcg)
    #expect(AccelChoice.auto(cpuinfo: vmx, kvmNode: false, loadedModules: ["kvm_intel"]).0 == .tcg)
  }

  @Test func consoleMarkersAndKernelNoise() {
    let text = """
      [    1.000000] Linux version 6.1.0\r
      DAXPIN-LAB: kernel 6.1.0\r
      ===DAXPIN-BEGIN probe===\r
      {"a": 1,\r
      [    9.876543] vfio-pci 0000:00:01.0: enabling device\r
        "b": 2}\r
      ===DAXPIN-END probe rc=0===\r
      """
    let c = LabConsole.parse(text)
    #expect(c.sections["probe"] == "{\"a\": 1,\n  \"b\": 2}")
    #expect(c.exitCodes["probe"] == 0)
    #expect(!c.panicked)
    #expect(c.errors.isEmpty)
  }

  @Test func consolePanicAndGuestErrors() {
    let c = LabConsole.parse("DAXPIN-LAB-ERROR: mkfs.xfs /dev/pmem1: too small\n[ 3.2] Kernel panic - not syncing: Attempted to kill init!\n")
    #expect(c.panicked)
    #expect(c.errors == ["mkfs.xfs /dev/pmem1: too small"])
    #expect(c.sections.isEmpty)
    #expect(c.tail(1).contains("Kernel panic"))
  }

  @Test func moduleSteps() {
    let out = "insmod /r/lib/modules/6.1/kernel/drivers/nvdimm/libnvdimm.ko \ninsmod /r/lib/modules/6.1/kernel/drivers/nvdimm/nd_e820.ko \nbuiltin crc32c\n"
    #expect(ModuleClosure.parse(out) == [.insmod("/r/lib/modules/6.1/kernel/drivers/nvdimm/libnvdimm.ko"), .insmod("/r/lib/modules/6.1/kernel/drivers/nvdimm/nd_e820.ko"), .builtin("crc32c")])
  }

  @Test func lddLibraries() {
    let ldd = """
      \tlinux-vdso.so.1 (0x00007ffd)
      \tlibndctl.so.6 => /lib/x86_64-linux-gnu/libndctl.so.6 (0x00007f)
      \tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f)
      \t/lib64/ld-linux-x86-64.so.2 (0x00007f)
      """
    #expect(Initramfs.libraries(inLdd: ldd) == ["/lib/x86_64-linux-gnu/libndctl.so.6", "/lib/x86_64-linux-gnu/libc.so.6", "/lib64/ld-linux-x86-64.so.2"])
    #expect(Initramfs.stripCompression("kernel/fs/xfs/xfs.ko.xz") == "kernel/fs/xfs/xfs.ko")
  }

  @Test func cpioNewcLayout() {
    var w = CpioWriter()
    w.add("/bin", .directory)
    w.add("/bin/x", .file([1, 2, 3], executable: true))
    w.add("/bin/sh", .symlink("busybox"))
    w.finish()
    let b = w.bytes
    #expect(b.count % 4 == 0)
    #expect(String(decoding: b.prefix(6), as: UTF8.self) == "070701")
    // The second header's mode field (chars 14..<22) is 000081ED (0o100755).
    let second = b.count > 120 ? String(decoding: b[120..<190], as: UTF8.self) : ""
    #expect(second.contains("000081ED"))
    #expect(String(decoding: b, as: UTF8.self).contains("TRAILER!!!"))
  }

  @Test func bzImageRelease() throws {
    let path = NSTemporaryDirectory() + "bz-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: path) }
    try FakeKernel.image(release: "6.99.0-lab").write(to: URL(fileURLWithPath: path))
    #expect(KernelTree.release(ofImage: path) == "6.99.0-lab")
    try Data(repeating: 0, count: 4096).write(to: URL(fileURLWithPath: path))
    #expect(KernelTree.release(ofImage: path) == nil)
  }
}

/// A file with a bzImage setup header (HdrS at 0x202, kernel_version at 0x20E): enough for
/// KernelTree to take it as a built-in-only kernel. It never boots; the stand-in QEMU does not run it.
enum FakeKernel {
  static func image(release: String) -> Data {
    var b = [UInt8](repeating: 0, count: 0x1000)
    b.replaceSubrange(0x202..<0x206, with: Array("HdrS".utf8))
    let offset = 0x300
    b[0x20E] = UInt8((offset - 0x200) & 0xff)
    b[0x20F] = UInt8((offset - 0x200) >> 8)
    let text = Array((release + " (lab@test) #1 SMP").utf8) + [0]
    b.replaceSubrange(offset..<(offset + text.count), with: text)
    return Data(b)
  }
}

@Suite("inventory against ndctl / daxctl list")
struct PmemAgreementTests {
  let inventory = PmemInfo(
    buses: [
      NdBus(
        provider: "e820", dev: "ndbus0",
        regions: [
          NdRegion(dev: "region0", size: 536_870_912, namespaces: [NdNamespace(dev: "namespace0.0", mode: "fsdax", size: 526_385_152, blockdev: "pmem0")]),
          NdRegion(dev: "region2", size: 536_870_912, namespaces: [NdNamespace(dev: "namespace2.0", mode: "devdax", size: 526_385_152, chardev: "dax2.0")]),
        ])
    ],
    daxRegions: [DaxRegion(id: 2, size: 526_385_152, align: 2_097_152, devices: [DaxDevice(chardev: "dax2.0", size: 526_385_152, align: 2_097_152, mode: "devdax")])])

  // What ndctl 76 prints in the lab guest (abridged to the keys compared).
  let ndctl = """
    [
      {"dev":"namespace2.0","mode":"devdax","map":"dev","size":526385152,"uuid":"x","chardev":"dax2.0","align":2097152},
      {"dev":"namespace0.0","mode":"fsdax","map":"dev","size":526385152,"uuid":"y","sector_size":512,"align":2097152,"blockdev":"pmem0"}
    ]
    """
  let daxctl = #"[{"chardev":"dax2.0","size":526385152,"target_node":0,"align":2097152,"mode":"devdax"}]"#

  @Test func agreeingListsHaveNoProblems() {
    #expect(PmemAgreement.problems(inventory: inventory, ndctl: ndctl, daxctl: daxctl).isEmpty)
  }

  @Test func disagreementsAreNamed() {
    var inv = inventory
    inv.buses[0].regions[0].namespaces[0].size = 1
    inv.daxRegions = []
    let p = PmemAgreement.problems(inventory: inv, ndctl: ndctl, daxctl: daxctl)
    #expect(p.contains { $0.contains("differs from ndctl list") })
    #expect(p.contains("daxctl lists dax2.0 but the inventory does not"))
    #expect(PmemAgreement.problems(inventory: inv, ndctl: "garbage", daxctl: nil) == ["cannot read ndctl list -N output"])
  }
}
