#pragma once
// A configuration error or warning with where it was found. Control plane only.

#include <string>

namespace skjold::conf {

struct Diagnostic {
    std::string file;
    int line = 0;                 // 0: about the whole file ("FILE: cannot open: ...")
    std::string message;

    // "FILE:LINE: message", or "FILE: message" when line is 0, or the message alone without a file.
    std::string str() const {
        if (file.empty()) return message;
        if (line <= 0) return file + ": " + message;
        return file + ":" + std::to_string(line) + ": " + message;
    }
};

}  // namespace skjold::conf
