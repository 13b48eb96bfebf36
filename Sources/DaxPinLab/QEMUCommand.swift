import DaxPinCore

/// The QEMU machine of a lab run: q35 with a split irqchip, an Intel vIOMMU with interrupt
/// remapping and caching mode (so VFIO in the guest can map through it), the spare `edu` PCI
/// device, and the pmem of one `PmemMode`.
public struct QEMUCommand: Equatable, Sendable {
  public var binary = "qemu-system-x86_64"
  public var accel: Accel
  public var kernel: String
  public var initrd: String
  public var console: String
  public var pmem: PmemMode
  /// Host files behind the pmem, in the run's private directory (`backingFiles(in:)`): the
  /// NVDIMMs, the virtio-pmem devices, or the CXL device and its label storage area.
  public var pmemFiles: [String] = []
  /// Where the firmware's debug port (0x402, SeaBIOS's log) goes: the host times QEMU's start
  /// and the firmware from it. The guest kernel never uses the port.
  public var firmwareLog: String?
  /// The guest's own RAM. 1 GiB is several times what a run uses (a 40 MB initramfs, a 128 MiB
  /// ramdisk, 32 MiB of huge pages, 2 MiB buffers); the kernel sets up and frees every page of it
  /// before its clock starts, which under TCG took longer the more there was.
  public var memoryMiB = 1024
  public var cpus = 2
  /// The initramfs carries the modules without their signatures (`ModuleSignature`): the guest
  /// kernel then has no use for its built-in certificates either (`skippedInitcalls`).
  public var modulesUnsigned = false
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
  /// The CXL host bridge's PCI bus number (pxb-cxl `bus_nr`): its root ports are on bus 12, the
  /// type-3 device behind the first on bus 13.
  public static let cxlBusNumber = 12

  public init(accel: Accel, kernel: String, initrd: String, console: String, pmem: PmemMode, pmemFiles: [String] = []) {
    self.accel = accel
    self.kernel = kernel
    self.initrd = initrd
    self.console = console
    self.pmem = pmem
    self.pmemFiles = pmemFiles
  }

  /// The backing files `mode` needs, with their sizes in MiB, named inside `directory` (the run's
  /// private scratch directory, removed with it). memmap needs none.
  public static func backingFiles(_ mode: PmemMode, in directory: String, layout: LabLayout = .standard) -> [(path: String, mib: Int)] {
    switch mode {
    case .memmap: []
    case .nvdimm: (0..<layout.regions(mode)).map { ("\(directory)/nvdimm\($0).img", layout.regionMiB + labelSlackMiB) }
    case .virtioPmem: (0..<layout.regions(mode)).map { ("\(directory)/virtio-pmem\($0).img", layout.regionMiB) }
    case .cxl: [("\(directory)/cxl-pmem0.img", layout.cxlDeviceMiB), ("\(directory)/cxl-lsa0.img", layout.cxlLabelMiB)]
    }
  }

  /// Two NUMA nodes in the modes with a kmem region (`LabLayout.kmemNode(_:)`): node 0 with the
  /// CPUs and the guest's RAM, and the kmem node for the fourth pmem region only, so the System
  /// RAM it becomes is a node of its own that nothing allocates from unless bound to it (as on a
  /// host where the device's NUMA node is its own). Without any NUMA description the e820 pmem
  /// has no node and kmem rejects it ("rejecting DAX region with invalid node: -1", Debian 5.10
  /// and 6.1); with the kmem memory in node 0 every user allocation preferred its ZONE_MOVABLE,
  /// and GUP-fast then left the written copies of a private fsdax mapping to the slow path's
  /// EOPNOTSUPP (6.12, 7.3). memmap mode: node 0's memory ends exactly where the fourth region
  /// starts (QEMU lays the nodes' RAM out in order, above 4 GiB after the first `memoryMiB`),
  /// node 1 is that region. nvdimm mode: node 1 has no RAM; the last NVDIMM names it (`node=`).
  /// virtio-pmem and CXL: no kmem region, no NUMA description (as before it).
  var numaArguments: [String] {
    guard let kmemNode = layout.kmemNode(pmem) else { return [] }
    let cpus = accel == .kvm ? self.cpus : 1
    let node0 = "nodeid=0,cpus=0\(cpus > 1 ? "-\(cpus - 1)" : "")"
    switch pmem {
    case .memmap:
      let total = memoryMiB + Self.memmapHighMiB
      let kmemMiB = total - (memoryMiB + Self.memmapStartsMiB[layout.regions(pmem) - 1] - 4096)
      return [
        "-object", "memory-backend-ram,id=ram0,size=\(total - kmemMiB)M", "-numa", "node,\(node0),memdev=ram0",
        "-object", "memory-backend-ram,id=ram1,size=\(kmemMiB)M", "-numa", "node,nodeid=\(kmemNode),memdev=ram1",
      ]
    default:
      return [
        "-object", "memory-backend-ram,id=ram0,size=\(memoryMiB)M", "-numa", "node,\(node0),memdev=ram0",
        "-numa", "node,nodeid=\(kmemNode)",
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
      // Tearing down and re-creating a namespace (ndctl create-namespace -e) waits for RCU grace
      // periods, and on one emulated CPU each took tens of milliseconds of an idle guest: 0.33 s
      // of the four namespaces' 1.0 s was idle. Expedited grace periods do the same work at once
      // (the same synchronize_rcu() semantics): namespaces 0.74 s, idle before the probe 0.08 s.
      "rcupdate.rcu_expedited=1",
      "initcall_blacklist=" + skippedInitcalls.joined(separator: ","),
      // For a kernel with brd built in (source:<version>); a module gets the same from insmod.
      "brd.rd_nr=1", "brd.rd_size=\(layout.brdKiB)",
    ]
    switch pmem {
    case .memmap: args += Self.memmapStartsMiB.prefix(layout.regions(pmem)).map { "memmap=\(layout.regionMiB)M!\($0)M" }
    case .cxl:
      // From 6.3 cxl_pci sets up the event-log interrupts whenever the OS owns CXL memory error
      // reporting (_OSC), and QEMU 7.2's type-3 device has none: "Failed to get interrupt for
      // event Info log", and no memdev. Without the PCIe port services the kernel asks _OSC for
      // nothing, the firmware keeps error reporting, and cxl_pci probes. The edu device sits on
      // the root bus, behind no port.
      args.append("pcie_ports=compat")
    case .nvdimm, .virtioPmem: break
    }
    return args.joined(separator: " ")
  }

  /// Boot-time work of the Debian kernels that nothing in a lab run uses, skipped with
  /// `initcall_blacklist=` (a name a kernel lacks is ignored). Each ran crypto under TCG and most
  /// asked modprobe for an algorithm module (an exec of kmod that waited for the initramfs), and
  /// measured with `initcall_debug`: the SP800-108 KDF's self-test (`crypto_kdf108_init`, 6.1+:
  /// 0.26-0.42 s), the "encrypted" key type (`init_encrypted`: 0.08 s on 6.1, 0.42 s on 6.12), the
  /// jitter entropy source's health test (`jent_mod_init`, 6.12: 0.22 s; the kernel's RNG seeds
  /// without it), and, where the modules are unsigned, the built-in X.509 certificates that would
  /// verify them (`load_system_certificate_list`, 7.3: 0.40-0.56 s, an ECDSA P-384 key). Debian
  /// 6.12's boot went from 2.8-3.0 s to 2.0-2.2 s, 7.3's from 1.8-2.3 s to 1.6 s.
  var skippedInitcalls: [String] {
    ["crypto_kdf108_init", "init_encrypted", "jent_mod_init"] + (modulesUnsigned ? ["load_system_certificate_list"] : [])
  }

  public var arguments: [String] {
    let machine: String
    switch pmem {
    case .memmap: machine = ",max-ram-below-4g=\(memoryMiB)M"
    case .nvdimm: machine = ",nvdimm=on"
    case .virtioPmem: machine = ""
    case .cxl: machine = ",cxl=on"
    }
    let memory: String
    switch pmem {
    case .memmap: memory = "\(memoryMiB + Self.memmapHighMiB)M"
    // NVDIMMs and virtio-pmem devices are memory devices: they live in the hotplug area above RAM.
    case .nvdimm, .virtioPmem: memory = "\(memoryMiB)M,slots=\(pmemFiles.count + 1),maxmem=\(memoryMiB + 4096)M"
    // The CXL window lies above all of it, outside the guest's RAM.
    case .cxl: memory = "\(memoryMiB)M"
    }
    // The kernel refuses to commit a CXL region under a hypervisor (CPUID's hypervisor bit): it
    // cannot write back and invalidate the CPU caches across the region's range there ("Failed
    // to synchronize CPU cache state", seen on Debian's 6.12). The emulated CPU caches nothing
    // QEMU does not see, so the CXL guest is told it runs on bare metal.
    let cpu = (accel == .kvm ? "host" : "max") + (pmem == .cxl ? ",hypervisor=off" : "")
    var a = [
      binary, "-machine", "q35,kernel-irqchip=split" + machine,
      "-accel", accel == .kvm ? "kvm" : "tcg", "-cpu", cpu,
      // One vCPU under TCG: with two, the kernel's live code patching (text_poke_bp's temporary
      // int3) raced the other vCPU's translated code and panicked 2 boots in ~20 here
      // ("Oops: int3" in sched_clock_cpu, Debian 6.12 and a 7.3 build, QEMU 7.2).
      "-smp", accel == .kvm ? "\(cpus)" : "1",
      "-m", memory,
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
    a += pmemArguments
    return a
  }

  /// The pmem devices of `pmem`, backed by `pmemFiles`.
  var pmemArguments: [String] {
    var a: [String] = []
    switch pmem {
    case .memmap: break
    case .nvdimm:
      for (i, file) in pmemFiles.enumerated() {
        // The last NVDIMM is the kmem region: its NFIT proximity domain is the kmem node.
        let node = i == layout.regions(pmem) - 1 ? layout.kmemNode(pmem).map { ",node=\($0)" } ?? "" : ""
        a += [
          "-object", "memory-backend-file,id=nvmem\(i),share=on,mem-path=\(file),size=\(layout.regionMiB + Self.labelSlackMiB)M,align=2M",
          "-device", "nvdimm,memdev=nvmem\(i),id=nvdimm\(i),label-size=128K\(node)",
        ]
      }
    case .virtioPmem:
      for (i, file) in pmemFiles.enumerated() {
        a += [
          "-object", "memory-backend-file,id=vpmem\(i),share=on,mem-path=\(file),size=\(layout.regionMiB)M,align=2M",
          "-device", "virtio-pmem-pci,memdev=vpmem\(i),id=virtio-pmem\(i)",
        ]
      }
    case .cxl:
      guard pmemFiles.count == 2 else { break }
      a += [
        "-object", "memory-backend-file,id=cxlmem0,share=on,mem-path=\(pmemFiles[0]),size=\(layout.cxlDeviceMiB)M,align=2M",
        "-object", "memory-backend-file,id=cxllsa0,share=on,mem-path=\(pmemFiles[1]),size=\(layout.cxlLabelMiB)M",
        "-device", "pxb-cxl,bus_nr=\(Self.cxlBusNumber),bus=pcie.0,id=cxl.0",
        "-device", "cxl-rp,port=0,bus=cxl.0,id=cxlrp0,chassis=0,slot=2",
        // A second, empty root port: with a one-port host bridge Debian's 6.1 lost the writes to
        // the region (mkfs.xfs read back "Metadata CRC error", mount said EINVAL), seemingly
        // because it treats such a bridge as a pass-through and leaves its HDM decoder
        // unprogrammed, while QEMU 7.2 routes the window through it. With two ports 6.1, 6.12
        // and 7.3 all work.
        "-device", "cxl-rp,port=1,bus=cxl.0,id=cxlrp1,chassis=0,slot=3",
        // A serial number: Debian's 7.3 cxl_pmem refuses a region whose device has none ("invalid
        // or missing serial number"; 6.12 did not ask).
        "-device", "cxl-type3,bus=cxlrp0,memdev=cxlmem0,lsa=cxllsa0,id=cxl-pmem0,sn=1",
        "-M", "cxl-fmw.0.targets.0=cxl.0,cxl-fmw.0.size=\(layout.cxlWindowGiB)G",
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
