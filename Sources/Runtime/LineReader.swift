#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a file line by line with a reused buffer (`getline`), handing each line as bytes without the newline.
final class LineReader {
    private let file: UnsafeMutablePointer<FILE>
    private var buffer: UnsafeMutablePointer<CChar>?
    private var capacity = 0
    /// 1-based number of the last line read.
    private(set) var lineNumber: Int64 = 0

    /// - Returns: nil when the file cannot be opened.
    init?(path: String) {
        guard let file = fopen(path, "r") else { return nil }
        self.file = file
    }

    deinit {
        fclose(file)
        free(buffer)
    }

    /// Calls `body` with the next non-empty line; returns false at the end of the file.
    func next(_ body: (UnsafeRawBufferPointer) -> Void) -> Bool {
        while true {
            let n = getline(&buffer, &capacity, file)
            guard n >= 0, let buffer else { return false }
            lineNumber += 1
            var length = n
            while length > 0, buffer[length - 1] == 0x0A || buffer[length - 1] == 0x0D { length -= 1 }
            if length == 0 { continue }
            body(UnsafeRawBufferPointer(start: buffer, count: length))
            return true
        }
    }
}

/// Appends lines to a file through stdio's buffer.
final class LineWriter {
    private let file: UnsafeMutablePointer<FILE>

    init(path: String) throws {
        guard let file = fopen(path, "w") else { throw ConfigError("--output", "cannot write \(path)") }
        self.file = file
    }

    deinit { fclose(file) }

    func write(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { _ = fwrite($0.baseAddress, 1, $0.count, file) }
        fputc(0x0A, file)
    }
}
