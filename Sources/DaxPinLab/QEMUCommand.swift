import DaxPinCore
/// How the lab emulates persistent memory.
public enum PmemMode: String, CaseIterable, Sendable {
  /// Legacy `memmap=size!offset` regions (nd_e820): one label-less namespace per region.
  case memmap
  /// QEMU NVDIMMs (`nvdimm=on`, memory-backend-file, label area): NFIT, labels, namespaces.
  case nvdimm
}

/// The QEMU machine of a lab run: q35 with a split irqchip, an Intel vIOMMU with interrupt
/// remapping and caching mode (so VFIO in the guest can map through it), the spare `edu` PCI
/// device, and three pmem regions.
public struct QEMUCommand: Equatable, Sendable {
  public var binary = "qemu-system-x86_64"
  public var accel: Accel
  public var kernel: String
  public var initrd: String
  public var console: String
  public var pmem: PmemMode
  /// Backing files for the NVDIMMs (nvdimm mode).
  public var nvdimmFiles: [String] = []
  /// Where the firmware's debug port (0x402, SeaBIOS's log) goes: the host times QEMU's start
  /// and the firmware from it. The guest kernel never uses the port.
  public var firmwareLog: String?
  /// The guest's own RAM. 1 GiB is several times what a run uses (a 40 MB initramfs, a 128 MiB
  /// ramdisk, 32 MiB of huge pages, 2 MiB buffers); the kernel sets up and frees every page of it
  /// before its clock starts, which under TCG took longer the more there was.
  public var memoryMiB = 1024
  public var cpus = 2
  /// The guest's objects, shared with the fake host.
  public var layout = LabLayout.standard
  static var regionMiB: Int { LabLayout.standard.regionMiB }
  /// Room QEMU keeps for the label area at the end of each NVDIMM backing file: 2 MiB keeps the
  /// next DIMM, and so each region, 2 MiB-aligned (the 128 KiB label alone would not).
  public static let labelSlackMiB = 2
  /// `memmap=` starts, in the RAM q35 puts above 4 GiB: `max-ram-below-4g` keeps `memoryMiB` below
  /// 4 GiB and the rest goes above, exactly enough for the four regions and the 64 MiB gaps that
  /// keep e820 from merging them into one. The fourth (System RAM for devdax-kmem) starts on a
  /// 128 MiB memory block boundary.
  public static let memmapStartsMiB = [4096, 4672, 5248, 5888]
  /// RAM above 4 GiB in memmap mode: up to the end of the last region.
  static var memmapHighMiB: Int { memmapStartsMiB.last! + LabLayout.standard.regionMiB - 4096 }

  public init(accel: Accel, kernel: String, initrd: String, console: String, pmem: PmemMode, nvdimmFiles: [String] = []) {
    self.accel = accel
    self.kernel = kernel
    self.initrd = initrd
    self.console = console
    self.pmem = pmem
    self.nvdimmFiles = nvdimmFiles
  }

  /// Two NUMA nodes: node 0 with the CPUs and the guest's RAM, and the kmem node
  /// (`LabLayout.kmemNode`) for the fourth pmem region only, so the System RAM it becomes is a
  /// node of its own that nothing allocates from unless bound to it (as on a host where the
  /// device's NUMA node is its own). Without any NUMA description the e820 pmem has no node and
  /// kmem rejects it ("rejecting DAX region with invalid node: -1", Debian 5.10 and 6.1); with the
  /// kmem memory in node 0 every user allocation preferred its ZONE_MOVABLE, and GUP-fast then
  /// left the written copies of a private fsdax mapping to the slow path's EOPNOTSUPP (6.12, 7.3).
  /// memmap mode: node 0's memory ends exactly where the fourth region starts (QEMU lays the
  /// nodes' RAM out in order, above 4 GiB after the first `memoryMiB`), node 1 is that region.
  /// nvdimm mode: node 1 has no RAM; the last NVDIMM names it (`node=`).
  var numaArguments: [String] {
    let cpus = accel == .kvm ? self.cpus : 1
    let node0 = "nodeid=0,cpus=0\(cpus > 1 ? "-\(cpus - 1)" : "")"
    switch pmem {
    case .memmap:
      let total = memoryMiB + Self.memmapHighMiB
      let kmemMiB = total - (memoryMiB + Self.memmapStartsMiB[layout.regions - 1] - 4096)
      return [
        "-object", "memory-backend-ram,id=ram0,size=\(total - kmemMiB)M", "-numa", "node,\(node0),memdev=ram0",
        "-object", "memory-backend-ram,id=ram1,size=\(kmemMiB)M", "-numa", "node,nodeid=\(layout.kmemNode),memdev=ram1",
      ]
    case .nvdimm:
      return [
        "-object", "memory-backend-ram,id=ram0,size=\(memoryMiB)M", "-numa", "node,\(node0),memdev=ram0",
        "-numa", "node,nodeid=\(layout.kmemNode)",
      ]
    }
  }

  public var kernelCommandLine: String {
    var args = [
      "console=ttyS0", "quiet", "loglevel=3", "printk.time=1", "panic=-1", "nokaslr", "intel_iommu=on",
      "iommu=nopt", "rdinit=/init", "daxpin.pmem=\(pmem.rawValue)",
      // The crypto manager's boot self-tests of every algorithm took 0.5 s of each TCG boot;
      // nothing the lab measures uses the kernel's crypto beyond crc32c.
      "cryptomgr.notests",
      // The boot-time check that the timer interrupt arrives through the IO-APIC gives up after
      // a few emulated ticks; a TCG guest on a busy host (two guests on two cores) misses them,
      // and with interrupt remapping on the kernel then panics ("timer doesn't work through
      // Interrupt-remapped IO-APIC"). The timer works; skip the check, as cloud images do.
      "no_timer_check",
      // Two hardening defaults that cost a TCG guest about a second and change nothing the probe
      // asks: zeroing every kernel allocation (init_on_alloc; user pages are zeroed anyway), and
      // the Spectre/Meltdown mitigations (retpolines, RSB filling, barriers on every syscall).
      // Measured on Debian 6.1, three boots each: QEMU CPU 8.9-9.0 s, 7.8-8.2 s with
      // init_on_alloc=0, and 0.6 s less again with mitigations=off.
      "init_on_alloc=0", "mitigations=off",
      // For a kernel with brd built in (source:<version>); a module gets the same from insmod.
      "brd.rd_nr=1", "brd.rd_size=\(layout.brdKiB)",
    ]
    if pmem == .memmap { args += Self.memmapStartsMiB.prefix(layout.regions).map { "memmap=\(layout.regionMiB)M!\($0)M" } }
    return args.joined(separator: " ")
  }

  public var arguments: [String] {
    var a = [
      binary, "-machine", "q35,kernel-irqchip=split" + (pmem == .nvdimm ? ",nvdimm=on" : ",max-ram-below-4g=\(memoryMiB)M"),
      "-accel", accel == .kvm ? "kvm" : "tcg", "-cpu", accel == .kvm ? "host" : "max",
      // One vCPU under TCG: with two, the kernel's live code patching (text_poke_bp's temporary
      // int3) raced the other vCPU's translated code and panicked 2 boots in ~20 here
      // ("Oops: int3" in sched_clock_cpu, Debian 6.12 and a 7.3 build, QEMU 7.2).
      "-smp", accel == .kvm ? "\(cpus)" : "1",
      "-m", pmem == .nvdimm ? "\(memoryMiB)M,slots=\(nvdimmFiles.count + 1),maxmem=\(memoryMiB + 4096)M" : "\(memoryMiB + Self.memmapHighMiB)M",
      "-display", "none", "-nodefaults", "-no-reboot", "-monitor", "none",
      "-serial", "file:\(console)",
      "-device", "intel-iommu,intremap=on,caching-mode=on",
      "-device", "edu,addr=\(String(layout.vfioSlot, radix: 16))",
      "-kernel", kernel, "-initrd", initrd, "-append", kernelCommandLine,
    ]
    a += numaArguments
    if let firmwareLog {
      a += ["-chardev", "file,id=fwlog,path=\(firmwareLog)", "-device", "isa-debugcon,iobase=0x402,chardev=fwlog"]
    }
    for (i, file) in nvdimmFiles.enumerated() {
      // The last NVDIMM is the kmem region: its NFIT proximity domain is the kmem node.
      let node = i == layout.regions - 1 ? ",node=\(layout.kmemNode)" : ""
      a += [
        "-object", "memory-backend-file,id=nvmem\(i),share=on,mem-path=\(file),size=\(layout.regionMiB + Self.labelSlackMiB)M,align=2M",
        "-device", "nvdimm,memdev=nvmem\(i),id=nvdimm\(i),label-size=128K\(node)",
      ]
    }
    return a
  }
}

/// QEMU acceleration.
public enum Accel: String, Sendable, CaseIterable {
  case kvm, tcg
}

/// `--accel auto`: KVM only where it can really run a guest. /dev/kvm opening proves nothing on
/// these machines (a PVM provider without vmx/svm kills stock kernels with "emulation failure").
public enum AccelChoice {
  public static func auto(cpuinfo: String, kvmNode: Bool, loadedModules: [String]) -> (Accel, String) {
    let flags = Set(cpuinfo.split(separator: "\n").first { $0.hasPrefix("flags") }?.split(separator: " ").map(String.init) ?? [])
    let hw = flags.contains("vmx") ? "kvm_intel" : flags.contains("svm") ? "kvm_amd" : nil
    guard kvmNode else { return (.tcg, "TCG: no /dev/kvm") }
    guard let hw else { return (.tcg, "TCG: /dev/kvm exists but the CPU has no vmx/svm, so it cannot run stock kernels") }
    guard loadedModules.contains(hw) else { return (.tcg, "TCG: the CPU has \(hw == "kvm_intel" ? "vmx" : "svm") but \(hw) is not loaded") }
    return (.kvm, "KVM (\(hw))")
  }
}
