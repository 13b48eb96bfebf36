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
    #expect(a.contains("q35,kernel-irqchip=split,max-ram-below-4g=1024M"))
    #expect(a[a.firstIndex(of: "-m")! + 1] == "3328M", "1 GiB below 4 GiB, the four regions above")
    // Node 0's RAM ends where the fourth region starts; node 1 is that region (devdax-kmem).
    #expect(a.contains("memory-backend-ram,id=ram0,size=2816M") && a.contains("node,nodeid=0,cpus=0,memdev=ram0"))
    #expect(a.contains("memory-backend-ram,id=ram1,size=512M") && a.contains("node,nodeid=1,memdev=ram1"))
    #expect(a.contains("intel-iommu,intremap=on,caching-mode=on"))
    #expect(a.contains("edu,addr=\(String(LabLayout.standard.vfioSlot, radix: 16))"))
    #expect(a.contains("tcg"))
    #expect(a[a.firstIndex(of: "-smp")! + 1] == "1", "one vCPU under TCG")
    #expect(a.contains("file:/c"))
    #expect(q.kernelCommandLine.contains("intel_iommu=on"))
    #expect(q.kernelCommandLine.contains("memmap=512M!4096M memmap=512M!4672M memmap=512M!5248M memmap=512M!5888M"))
    #expect(!a.contains { $0.contains("nvdimm") })

    let n = QEMUCommand(accel: .kvm, kernel: "/k", initrd: "/i", console: "/c", pmem: .nvdimm, pmemFiles: ["/a", "/b", "/c"])
    #expect(n.arguments.contains("q35,kernel-irqchip=split,nvdimm=on"))
    #expect(n.arguments.contains("kvm"))
    #expect(n.arguments[n.arguments.firstIndex(of: "-smp")! + 1] == "2")
    #expect(n.arguments.filter { $0.hasPrefix("nvdimm,memdev=") }.count == 3)
    #expect(n.arguments.contains("memory-backend-file,id=nvmem1,share=on,mem-path=/b,size=514M,align=2M"))
    #expect(n.arguments.contains("nvdimm,memdev=nvmem1,id=nvdimm1,label-size=128K"))
    #expect(!n.kernelCommandLine.contains("memmap="))
    #expect(n.arguments.contains("1024M,slots=4,maxmem=5120M"))
    #expect(n.arguments.contains("node,nodeid=0,cpus=0-1,memdev=ram0") && n.arguments.contains("node,nodeid=1"))
    #expect(!n.arguments.contains("isa-debugcon,iobase=0x402,chardev=fwlog"))
    var f = n
    f.firmwareLog = "/fw"
    #expect(f.arguments.contains("file,id=fwlog,path=/fw"))
    #expect(f.arguments.contains("isa-debugcon,iobase=0x402,chardev=fwlog"))
    #expect(q.kernelCommandLine.contains("cryptomgr.notests"))
    #expect(q.kernelCommandLine.contains("no_timer_check"))
    #expect(q.kernelCommandLine.contains("init_on_alloc=0 mitigations=off"))
    #expect(q.kernelCommandLine.contains("rcupdate.rcu_expedited=1"))
    #expect(q.kernelCommandLine.contains("initcall_blacklist=crypto_kdf108_init,init_encrypted,jent_mod_init "))
    var unsigned = q
    unsigned.modulesUnsigned = true
    #expect(unsigned.kernelCommandLine.contains("initcall_blacklist=crypto_kdf108_init,init_encrypted,jent_mod_init,load_system_certificate_list "))
  }

  @Test func qemuCommandLineVirtioPmem() {
    let files = QEMUCommand.backingFiles(.virtioPmem, in: "/run/x")
    #expect(files.map(\.path) == ["/run/x/virtio-pmem0.img", "/run/x/virtio-pmem1.img", "/run/x/virtio-pmem2.img"])
    #expect(files.allSatisfy { $0.mib == LabLayout.standard.regionMiB })
    let v = QEMUCommand(accel: .tcg, kernel: "/k", initrd: "/i", console: "/c", pmem: .virtioPmem, pmemFiles: files.map(\.path))
    let a = v.arguments
    #expect(a.contains("q35,kernel-irqchip=split"))
    #expect(a.filter { $0.hasPrefix("virtio-pmem-pci,memdev=") }.count == 3)
    #expect(a.contains("memory-backend-file,id=vpmem2,share=on,mem-path=/run/x/virtio-pmem2.img,size=512M,align=2M"))
    #expect(a.contains("virtio-pmem-pci,memdev=vpmem2,id=virtio-pmem2"))
    #expect(a[a.firstIndex(of: "-m")! + 1] == "1024M,slots=4,maxmem=5120M", "memory devices live in the hotplug area")
    #expect(!v.kernelCommandLine.contains("memmap="))
    #expect(!a.contains { $0.contains("nvdimm") || $0.contains("cxl") })
    #expect(a[a.firstIndex(of: "-cpu")! + 1] == "max")
  }

  @Test func qemuCommandLineCXL() {
    let files = QEMUCommand.backingFiles(.cxl, in: "/run/x")
    #expect(files.map(\.path) == ["/run/x/cxl-pmem0.img", "/run/x/cxl-lsa0.img"])
    #expect(files.map(\.mib) == [LabLayout.standard.cxlDeviceMiB, LabLayout.standard.cxlLabelMiB])
    #expect(LabLayout.standard.cxlDeviceMiB >= LabLayout.standard.namespaceModes.count * LabLayout.standard.regionMiB, "one region holds every namespace")
    #expect(QEMUCommand.backingFiles(.memmap, in: "/run/x").isEmpty)
    let c = QEMUCommand(accel: .tcg, kernel: "/k", initrd: "/i", console: "/c", pmem: .cxl, pmemFiles: files.map(\.path))
    let a = c.arguments
    #expect(a.contains("q35,kernel-irqchip=split,cxl=on"))
    #expect(a[a.firstIndex(of: "-cpu")! + 1] == "max,hypervisor=off", "the kernel commits no CXL region under a hypervisor")
    #expect(a[a.firstIndex(of: "-m")! + 1] == "1024M")
    #expect(a.contains("memory-backend-file,id=cxlmem0,share=on,mem-path=/run/x/cxl-pmem0.img,size=2048M,align=2M"))
    #expect(a.contains("memory-backend-file,id=cxllsa0,share=on,mem-path=/run/x/cxl-lsa0.img,size=1M"))
    #expect(a.contains("pxb-cxl,bus_nr=12,bus=pcie.0,id=cxl.0"))
    #expect(a.filter { $0.hasPrefix("cxl-rp,") && $0.contains("bus=cxl.0") }.count == 2, "two root ports: a one-port bridge is a pass-through to 6.1")
    #expect(a.contains("cxl-type3,bus=cxlrp0,memdev=cxlmem0,lsa=cxllsa0,id=cxl-pmem0,sn=1"))
    // The window comes after the host bridge it targets.
    let fmw = a.firstIndex(of: "cxl-fmw.0.targets.0=cxl.0,cxl-fmw.0.size=4G")
    #expect(fmw != nil && fmw! > a.firstIndex(of: "pxb-cxl,bus_nr=12,bus=pcie.0,id=cxl.0")!)
    #expect(c.kernelCommandLine.contains("pcie_ports=compat"))
    #expect(c.kernelCommandLine.contains("daxpin.pmem=cxl"))
    #expect(!QEMUCommand(accel: .tcg, kernel: "/k", initrd: "/i", console: "/c", pmem: .nvdimm).kernelCommandLine.contains("pcie_ports"))
    var kvm = c
    kvm.accel = .kvm
    #expect(kvm.arguments[kvm.arguments.firstIndex(of: "-cpu")! + 1] == "host,hypervisor=off")
  }

  @Test func pmemModesNeedTheirDrivers() {
    #expect(ModuleClosure.bus(.memmap) == ["nd_e820"])
    #expect(ModuleClosure.bus(.nvdimm) == ["nfit"])
    #expect(ModuleClosure.bus(.virtioPmem) == ["virtio_pci", "virtio_pmem"])
    #expect(ModuleClosure.bus(.cxl) == ["cxl_acpi", "cxl_pci", "cxl_mem", "cxl_pmem"])
    for mode in PmemMode.allCases {
      #expect(ModuleClosure.wanted(pmem: mode).starts(with: ModuleClosure.bus(mode)), "the bus driver loads first")
      #expect(ModuleClosure.wanted(pmem: mode).contains("device_dax"))
    }
    #expect(PmemMode(rawValue: "virtio-pmem") == .virtioPmem)
    #expect(PmemMode.allCases.map(\.busProvider) == ["e820", "ACPI.NFIT", "virtio-pmem", "CXL"])
  }

  @Test func pmemSupportFromTheKernelConfig() {
    let text = """
      CONFIG_LIBNVDIMM=m
      CONFIG_BLK_DEV_PMEM=m
      CONFIG_X86_PMEM_LEGACY=m
      CONFIG_ACPI_NFIT=m
      CONFIG_VIRTIO_PMEM=m
      # CONFIG_CXL_BUS is not set
      CONFIG_LOCALVERSION="-x"
      """
    let config = PmemSupport.parseConfig(text)
    #expect(config["CONFIG_CXL_BUS"] == "n")
    #expect(config["CONFIG_VIRTIO_PMEM"] == "m")
    #expect(config["CONFIG_LOCALVERSION"] == "\"-x\"")
    for mode in [PmemMode.memmap, .nvdimm, .virtioPmem] { #expect(PmemSupport.missing(mode, release: "5.10.0-32-amd64", config: config) == nil) }
    #expect(
      PmemSupport.missing(.cxl, release: "5.10.0-32-amd64", config: config)
        == "kernel 5.10.0-32-amd64 lacks the CXL bus: CONFIG_CXL_BUS, CONFIG_CXL_ACPI, CONFIG_CXL_PCI, CONFIG_CXL_MEM, CONFIG_CXL_PMEM, CONFIG_CXL_REGION not set")
    // CXL without regions (5.x kernels that had the bus but no `cxl create-region`).
    var older = config
    for o in ["CONFIG_CXL_BUS", "CONFIG_CXL_ACPI", "CONFIG_CXL_PCI", "CONFIG_CXL_MEM", "CONFIG_CXL_PMEM"] { older[o] = "m" }
    #expect(PmemSupport.missing(.cxl, release: "5.19.0", config: older) == "kernel 5.19.0 lacks CXL regions (cxl create-region; Linux 6.0 and later): CONFIG_CXL_REGION not set")
    older["CONFIG_CXL_REGION"] = "y"
    #expect(PmemSupport.missing(.cxl, release: "6.1.0", config: older) == nil)
    #expect(PmemSupport.missing(.cxl, release: "6.1.0", config: nil) == nil, "an unknown config: the boot finds out")
    var noVirtio = config
    noVirtio["CONFIG_VIRTIO_PMEM"] = nil
    #expect(PmemSupport.missing(.virtioPmem, release: "r", config: noVirtio) == "kernel r lacks the virtio-pmem driver: CONFIG_VIRTIO_PMEM not set")
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

  /// A module as sign-file leaves it: ELF image, PKCS#7 blob, `struct module_signature`, marker.
  static func signed(_ image: [UInt8], signature: [UInt8], idType: UInt8 = 2) -> [UInt8] {
    let n = UInt32(signature.count)
    let info: [UInt8] = [0, 0, idType, 0, 0, 0, 0, 0, UInt8(n >> 24), UInt8(n >> 16 & 0xff), UInt8(n >> 8 & 0xff), UInt8(n & 0xff)]
    return image + signature + info + Array("~Module signature appended~\n".utf8)
  }

  @Test func moduleSignatureIsCutWhereTheKernelLoadsUnsignedModules() {
    let image: [UInt8] = Array("\u{7f}ELF".utf8) + [UInt8](repeating: 0xaa, count: 300)
    let signature = [UInt8](repeating: 0x30, count: 461)
    #expect(ModuleSignature.unsigned(Self.signed(image, signature: signature)).map(Array.init) == image)
    // Not sign-file's trailer: kept as it is.
    #expect(ModuleSignature.unsigned(image) == nil)
    #expect(ModuleSignature.unsigned(Self.signed(image, signature: signature, idType: 1)) == nil, "PGP id type")
    var tooLong = Self.signed(image, signature: signature)
    tooLong[tooLong.count - 28 - 4] = 0x7f
    #expect(ModuleSignature.unsigned(tooLong) == nil, "a length past the start of the file")
    #expect(ModuleSignature.unsigned(Array("~Module signature appended~\n".utf8)) == nil)
    // The kernel's boundary: a signature as long as everything before the trailer leaves no module.
    #expect(ModuleSignature.unsigned(Self.signed([], signature: image + signature)) == nil)
    #expect(ModuleSignature.unsigned(Self.signed([0], signature: image + signature)) == nil, "one byte left: not an ELF image")
    #expect(ModuleSignature.unsigned(Self.signed(Array("\u{7f}ELF".utf8), signature: signature)).map(Array.init) == Array("\u{7f}ELF".utf8))
    // Only a known config that does not force signatures lets the lab cut them.
    #expect(ModuleSignature.unsignedModulesLoad(config: "CONFIG_MODULE_SIG=y\n# CONFIG_MODULE_SIG_FORCE is not set\n"))
    #expect(!ModuleSignature.unsignedModulesLoad(config: "CONFIG_MODULE_SIG=y\nCONFIG_MODULE_SIG_FORCE=y\n"))
    #expect(!ModuleSignature.unsignedModulesLoad(config: nil))
    #expect(!ModuleSignature.unsignedModulesLoad(config: "CONFIG_MODULE_SIG=y\nCONFIG_LOCK_DOWN_KERNEL_FORCE_INTEGRITY=y\n"))
    #expect(!ModuleSignature.unsignedModulesLoad(config: "CONFIG_LOCK_DOWN_KERNEL_FORCE_CONFIDENTIALITY=y\n"))
    #expect(ModuleSignature.unsignedModulesLoad(config: "CONFIG_LOCK_DOWN_KERNEL_FORCE_NONE=y\n"))
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

  @Test func gzipBase64Sections() {
    let text = """
      ===DAXPIN-BEGIN probe gzip-base64===\r
      H4sIAAAAAAAEA6tWSlSyUjCs5QIA+qFHXAkAAAA=\r
      ===DAXPIN-END probe rc=0===\r
      ===DAXPIN-BEGIN contract gzip-base64===\r
      bm90IGd6aXA=\r
      ===DAXPIN-END contract rc=0===\r
      """
    let c = LabConsole.parse(text)
    #expect(c.sections["probe"] == "{\"a\": 1}\n")
    #expect(c.exitCodes["probe"] == 0)
    #expect(c.sections["contract"] == "bm90IGd6aXA=", "what does not decode stays as it came, and fails as JSON")
  }

  @Test func timelineMarksAndSteps() {
    #expect(LabTimeline.mark(in: "DAXPIN-LAB: t=12.34 modules") ?? (0, "") == (12.34, "modules"))
    #expect(LabTimeline.mark(in: "DAXPIN-LAB: kernel 6.1.0") == nil)
    #expect(LabTimeline.mark(in: "[ 1.0] x DAXPIN-LAB: t=abc init") == nil)
    var t = LabTimeline(start: 100)
    t.spawned = 100.5
    t.firmwareStarted = 100.75
    t.firmwareHandedOff = 101
    // The kernel's clock started at 101.25: the mark seen soonest after it was printed says so.
    t.marks = [.init(uptime: 2, step: "init", seen: 103.5), .init(uptime: 3, step: "modules", seen: 104.25), .init(uptime: 5, step: "sync", seen: 106.5)]
    t.exited = 106.5
    t.end = 107
    #expect(t.kernelZero == 101.25)
    #expect(t.steps == [
      LabTiming(step: "initramfs", seconds: 0.5), LabTiming(step: "qemu", seconds: 0.25), LabTiming(step: "firmware", seconds: 0.25),
      LabTiming(step: "loader", seconds: 0.25), LabTiming(step: "kernel", seconds: 2), LabTiming(step: "modules", seconds: 1),
      LabTiming(step: "sync", seconds: 2), LabTiming(step: "shutdown", seconds: 0.25), LabTiming(step: "collect", seconds: 0.5),
    ])
    #expect(t.steps.map(\.seconds).reduce(0, +) == 7, "the steps add up to the run")
    // A guest clock that jumped ahead before /init (seen on a busy host): loader and kernel are
    // one step by the host's clock; a later jump is measured by the host too.
    var jumped = t
    jumped.marks = [.init(uptime: 88, step: "init", seen: 103.5), .init(uptime: 89, step: "modules", seen: 104.5), .init(uptime: 150, step: "sync", seen: 106.5)]
    #expect(jumped.kernelZero == nil)
    #expect(jumped.steps == [
      LabTiming(step: "initramfs", seconds: 0.5), LabTiming(step: "qemu", seconds: 0.25), LabTiming(step: "firmware", seconds: 0.25),
      LabTiming(step: "loader+kernel", seconds: 2.5), LabTiming(step: "modules", seconds: 1), LabTiming(step: "sync", seconds: 2),
      LabTiming(step: "shutdown", seconds: 0), LabTiming(step: "collect", seconds: 0.5),
    ])
    // A run that died early: only what is known.
    var dead = LabTimeline(start: 0)
    dead.spawned = 1
    dead.exited = 3
    #expect(dead.steps.map(\.step) == ["initramfs"])
  }

  @Test func modulesNotFound() {
    let err = "modprobe: WARNING: Module iommufd not found in directory /r/lib/modules/6.1\nmodprobe: FATAL: Module nd_e820 not found in directory /r\n"
    #expect(ModuleClosure.notFound(err) == ["iommufd", "nd_e820"])
  }

  @Test func runArchiveIsSmallAndAligned() {
    let a = Initramfs.runArchive(pmem: .nvdimm, modules: ["/lib/modules/6.1/kernel/drivers/acpi/nfit/nfit.ko"])
    #expect(a.count % 4 == 0)
    #expect(a.count < 1024)
    let text = String(decoding: a, as: UTF8.self)
    #expect(text.contains("PMEM_MODE=nvdimm"))
    #expect(text.contains("REGIONS=\"\(LabLayout.standard.regions(.nvdimm))\""))
    #expect(text.contains("KMEM_NODE=\"\(LabLayout.standard.kmemNodeNumber)\""), "nvdimm has the kmem region")
    let cxl = String(decoding: Initramfs.runArchive(pmem: .cxl, modules: []), as: UTF8.self)
    #expect(cxl.contains("PMEM_MODE=cxl"))
    #expect(cxl.contains("REGIONS=\"1\""), "one CXL region carved into the namespaces")
    #expect(cxl.contains("NAMESPACES=\"fsdax fsdax devdax\""))
    #expect(cxl.contains("NAMESPACE_MIB=\"512\""))
    #expect(String(decoding: Initramfs.runArchive(pmem: .virtioPmem, modules: []), as: UTF8.self).contains("PMEM_MODE=virtio-pmem"))
    #expect(text.contains("MODULES=\"/lib/modules/6.1/kernel/drivers/acpi/nfit/nfit.ko\""))
    #expect(Initramfs.guestModulePath("/c/root/usr/lib/modules/6.1/kernel/fs/xfs/xfs.ko.xz", release: "6.1") == "/lib/modules/6.1/kernel/fs/xfs/xfs.ko")
    #expect(Initramfs.guestModulePath("/elsewhere/xfs.ko", release: "6.1") == nil)
  }

  @Test func pvhPayloadAndNote() {
    // A bzImage: setup_sects 1, so the protected-mode part starts at 1024; the payload sits at
    // offset 16 in it, 10 bytes of xz magic and data followed by the 4-byte size.
    var bz = [UInt8](repeating: 0, count: 2048)
    bz.replaceSubrange(0x202..<0x206, with: Array("HdrS".utf8))
    bz[0x206] = 0x0F
    bz[0x207] = 0x02
    bz[0x1F1] = 1
    bz[0x248] = 16
    bz[0x24C] = 14
    let payload: [UInt8] = [0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00, 1, 2, 3, 4, 0x78, 0x56, 0x34, 0x12]
    bz.replaceSubrange((1024 + 16)..<(1024 + 30), with: payload)
    let p = PVHKernel.payload(ofBzImage: bz)
    #expect(p.map { Array($0.data) } == Array(payload.prefix(10)))
    #expect(p?.size == 0x1234_5678)
    #expect(p.flatMap { PVHKernel.compressor(of: $0.data)?.name } == "xz")
    bz[0x206] = 0x07  // boot protocol 2.07: no payload fields
    #expect(PVHKernel.payload(ofBzImage: bz) == nil)

    #expect(PVHKernel.hasPVHEntry(elf: Self.elf(noteType: 18)))
    #expect(!PVHKernel.hasPVHEntry(elf: Self.elf(noteType: 17)))
    #expect(!PVHKernel.hasPVHEntry(elf: [UInt8](repeating: 0, count: 256)))
  }

  /// An ELF64 header with one PT_NOTE holding one "Xen" note of `noteType`.
  static func elf(noteType: UInt8) -> [UInt8] {
    var e = [UInt8](repeating: 0, count: 256)
    e.replaceSubrange(0..<6, with: [0x7F, 0x45, 0x4C, 0x46, 2, 1])
    e[0x20] = 64  // e_phoff
    e[0x36] = 56  // e_phentsize
    e[0x38] = 1  // e_phnum
    e[64] = 4  // PT_NOTE
    e[64 + 8] = 128  // p_offset
    e[64 + 32] = 24  // p_filesz
    e.replaceSubrange(128..<140, with: [4, 0, 0, 0, 8, 0, 0, 0, noteType, 0, 0, 0])
    e.replaceSubrange(140..<144, with: [0x58, 0x65, 0x6E, 0])
    return e
  }

  @Test func pvhKernelFromARealDebianImage() throws {
    let cache = NSHomeDirectory() + "/.cache/daxpin/kernels/debian-6.1"
    guard let version = try? String(contentsOfFile: cache + "/current", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines),
      let image = try? FileManager.default.contentsOfDirectory(atPath: "\(cache)/\(version)/root/boot").first(where: { $0.hasPrefix("vmlinuz-") })
    else { return }  // no cached Debian kernel on this machine
    let dir = NSTemporaryDirectory() + "pvh-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let (path, why) = PVHKernel.kernel(for: "\(cache)/\(version)/root/boot/\(image)", cacheDirectory: dir)
    #expect(path != nil, "\(why)")
    #expect(why == "extracted from the xz payload")
    #expect(PVHKernel.kernel(for: "\(cache)/\(version)/root/boot/\(image)", cacheDirectory: dir).reason == "cached")
  }

  @Test func contentHashesAreRememberedByIdentity() throws {
    let dir = NSTemporaryDirectory() + "hash-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let file = dir + "/f"
    let memo = dir + "/memo"
    try "hello\n".write(toFile: file, atomically: true, encoding: .utf8)
    let real = try ContentHash.files([file], memoFile: memo)[file]
    // b2sum -l 256 of "hello\n".
    #expect(real == "93becc6e9882211c3ec3708c95bcd69baab7bb59c7f4bc84ce637b88a534b783")
    let saved = try String(contentsOfFile: memo, encoding: .utf8)
    #expect(saved.contains(" \(real!) \(file)"))
    // A later invocation reads the memo: a digest planted there for the same identity is believed...
    try saved.replacingOccurrences(of: real!, with: String(repeating: "0", count: 64)).write(toFile: memo, atomically: true, encoding: .utf8)
    ContentHash.memo.withLock { $0 = ContentHash.Memo() }
    #expect(try ContentHash.files([file], memoFile: memo)[file] == String(repeating: "0", count: 64))
    // ...until the file changes.
    try "hello again\n".write(toFile: file, atomically: false, encoding: .utf8)
    let changed = try ContentHash.files([file], memoFile: memo)[file]
    #expect(changed != real && changed != String(repeating: "0", count: 64))
    #expect(try ContentHash.text("hello\n") == real)
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
