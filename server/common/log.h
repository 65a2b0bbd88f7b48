// The server's log: one line per start-up step, model event and error, on
// stderr, as text ("<ts> <LEVEL> <msg> k=v ...") or as one JSON object per
// line ({"ts", "level", "msg", fields...}); --log_format picks which.
// Thread-safe: a line is written whole, never interleaved with another.
#ifndef LION_SERVER_COMMON_LOG_H_
#define LION_SERVER_COMMON_LOG_H_

#include <functional>
#include <map>
#include <string>

namespace lion {

enum class LogFormat { kText, kJson };

// Fields after the message, written in key order.
using LogFields = std::map<std::string, std::string>;

// Set once at start-up (before other threads log); text until then.
void SetLogFormat(LogFormat format);

// One line: level ("INFO", "WARN", "ERROR"), message and fields, stamped with
// the UTC time to the second (2006-01-02T15:04:05Z).
void Log(const std::string& level, const std::string& message, const LogFields& fields = {});

// How code below main receives the log (Log itself, or a test's recorder).
using LogFn = std::function<void(const std::string& level, const std::string& message,
                                 const LogFields& fields)>;

}  // namespace lion

#endif  // LION_SERVER_COMMON_LOG_H_
