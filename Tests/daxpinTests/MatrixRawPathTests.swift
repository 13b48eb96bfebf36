import Foundation
import Testing

/// `report matrix` with FILE names that are not UTF-8, given through a shell (Foundation's Process
/// would re-encode them): every line shows such bytes as `\xNN`, as `probe` and `--output` do. It
/// used to print the private-use characters that hold those bytes inside daxpin (`RawPath`).
extension ReportMatrixCommandTests {
  @Test func aMissingFileThatIsNotUTF8IsShownAsEscapes() throws {
    let files = try MatrixFiles()
    let r = try Run.shell("exec \"$DAXPIN\" report matrix \"\(files.dir)/$(printf 'x\\377.json')\"")
    #expect(r.status == 2)
    #expect(r.stderr == "daxpin: report matrix: \(files.dir)/x\\xff.json: ENOENT\n")
  }

  @Test func aRepeatedFileThatIsNotUTF8IsShownAsEscapes() throws {
    let files = try MatrixFiles()
    let report = try files.write("report.json", files.fakeText)
    let raw = "\(files.dir)/$(printf 'r\\377.json')"
    let r = try Run.shell("cp \"\(report)\" \"\(raw)\" && exec \"$DAXPIN\" report matrix \"\(raw)\" \"\(raw)\"")
    #expect(r.status == 0)
    #expect(r.stderr == "daxpin: report matrix: \(files.dir)/r\\xff.json repeats \(files.dir)/r\\xff.json; counted once\n")
  }
}
