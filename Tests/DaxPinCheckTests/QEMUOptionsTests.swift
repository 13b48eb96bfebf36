import Testing

@testable import DaxPinCore

/// The problem `body` threw, nil when it threw none.
func checkProblem(_ body: () throws -> Void) -> CheckProblem? {
  do { try body() } catch let e as CheckProblem { return e } catch { Issue.record("not a CheckProblem: \(error)") }
  return nil
}

@Suite("QEMU's option syntax and sizes")
struct QEMUOptionsTests {
  func pairs(_ text: String, implied: String? = "qom-type", json: Bool = false) throws -> [String] {
    try QEMUOptions.parse(text, impliedKey: implied, json: json).pairs.map { "\($0.key)=\($0.value)" }
  }

  @Test func keyValuePairsWithTheImpliedKeyFirst() throws {
    #expect(
      try pairs("memory-backend-file,id=m0,size=64M,mem-path=/var/tmp/vm.ram,share=on")
        == ["qom-type=memory-backend-file", "id=m0", "size=64M", "mem-path=/var/tmp/vm.ram", "share=on"])
    #expect(try pairs("4G", implied: "size") == ["size=4G"])
    #expect(try pairs("size=4G,slots=2,maxmem=8G", implied: "size") == ["size=4G", "slots=2", "maxmem=8G"])
  }

  @Test func doubledCommaIsACommaInAValue() throws {
    #expect(try pairs("memory-backend-file,id=m0,mem-path=/srv/a,,b/vm.ram,size=1G") == [
      "qom-type=memory-backend-file", "id=m0", "mem-path=/srv/a,b/vm.ram", "size=1G",
    ])
    #expect(try pairs("memory-backend-file,mem-path=/x,,,,y") == ["qom-type=memory-backend-file", "mem-path=/x,,y"])
  }

  @Test func bareKeyIsOnAndTrailingCommaIsIgnored() throws {
    #expect(try pairs("memory-backend-ram,id=r,size=1G,prealloc,") == ["qom-type=memory-backend-ram", "id=r", "size=1G", "prealloc=on"])
  }

  @Test func lastOfARepeatedKeyCounts() throws {
    let o = try QEMUOptions.parse("memory-backend-ram,id=a,share=on,share=off", impliedKey: "qom-type")
    #expect(o["share"] == "off")
    #expect(o.pairs.count == 4)
  }

  @Test func malformedSyntax() {
    #expect(throws: OptionSyntaxError("'=x': a value without a key")) { try QEMUOptions.parse("memory-backend-ram,=x", impliedKey: "qom-type") }
    #expect(throws: OptionSyntaxError("empty option at the start")) { try QEMUOptions.parse(",id=x", impliedKey: "qom-type") }
    #expect(throws: OptionSyntaxError("not a JSON object of parameters")) { try QEMUOptions.parse("{\"qom-type\":", impliedKey: "qom-type", json: true) }
  }

  @Test func jsonObjectForm() throws {
    #expect(
      try pairs(#"{"qom-type":"memory-backend-file","id":"m0","size":67108864,"mem-path":"/var/tmp/vm.ram","share":true,"host-nodes":[0]}"#, json: true)
        == ["host-nodes=…", "id=m0", "mem-path=/var/tmp/vm.ram", "qom-type=memory-backend-file", "share=on", "size=67108864"])
    #expect(try pairs(#"{"x":1}"#, json: false) == ["qom-type={\"x\":1}"], "JSON only where QEMU accepts it")
  }

  @Test func argvSplitsOptionsFromTheirArguments() throws {
    let args = try QEMUOptions.split(["qemu-system-x86_64", "-enable-kvm", "-m", "4G", "--nographic", "-append", "-x console=ttyS0", "disk.img", "-S"])
    #expect(args == [
      QEMUArgument(option: "enable-kvm", value: nil), QEMUArgument(option: "m", value: "4G"), QEMUArgument(option: "nographic", value: nil),
      QEMUArgument(option: "append", value: "-x console=ttyS0"), QEMUArgument(option: "S", value: nil),
    ])
    #expect(checkProblem { _ = try QEMUOptions.split(["-m", "1G", "-object"]) } == .malformed("-object: requires an argument"))
  }

  @Test func qemuSizes() {
    #expect(ByteSize.qemu("64M") == 64 << 20)
    #expect(ByteSize.qemu("64m") == 64 << 20)
    #expect(ByteSize.qemu("1.5G") == 3 << 29)
    #expect(ByteSize.qemu("0x200000") == 2 << 20)
    #expect(ByteSize.qemu("4096") == 4096)
    #expect(ByteSize.qemu("512", defaultUnit: 1 << 20) == 512 << 20, "-m without a suffix is MiB")
    #expect(ByteSize.qemu("2048B", defaultUnit: 1 << 20) == 2048)
    #expect(ByteSize.qemu("64Q") == nil)
    #expect(ByteSize.qemu("1.5") == nil, "a fraction of a byte")
    #expect(ByteSize.qemu("") == nil)
    #expect(ByteSize.qemu("16E") == nil, "overflows 64 bits")
  }

  @Test func otherSizesAndTheirPrinting() {
    #expect(ByteSize.cloudHypervisor("512M") == 512 << 20)
    #expect(ByteSize.cloudHypervisor("1G") == 1 << 30)
    #expect(ByteSize.cloudHypervisor("1g") == nil)
    #expect(ByteSize.libvirtUnit(nil) == 1024)
    #expect(ByteSize.libvirtUnit("GiB") == 1 << 30)
    #expect(ByteSize.libvirtUnit("GB") == 1_000_000_000)
    #expect(ByteSize.libvirtUnit("XB") == nil)
    #expect(ByteSize.describe(64 << 20) == "64 MiB")
    #expect(ByteSize.describe(3 << 29) == "1536 MiB")
    #expect(ByteSize.describe(1000) == "1000 bytes")
    #expect(ByteSize.qemuSuffix(2 << 20) == "2M")
    #expect(ByteSize.qemuSuffix(1 << 30) == "1G")
  }
}
