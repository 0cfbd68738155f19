#pragma once
// Command-line parsing for the xinfer tool. Each subcommand declares its options (name, value placeholder or
// none for a flag, repeatable, help text) and the parser holds the command line to them: an unknown option, a
// value option without a value, a repeated single option or an unexpected positional argument is a usage error
// (exit status 2), and -h / --help anywhere prints the subcommand's help.
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace xinfer::cli {

// A mistake on the command line; main() prints it with a pointer to --help and exits with status 2.
struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct Option {
    std::string name;          // "--threads", "-o"
    std::string value;         // the value's placeholder in the help ("N"); empty for a flag
    std::string help;          // one line
    bool repeatable = false;   // may be given more than once (all() returns every value)
    std::string section = "";  // the heading it is listed under in the help; empty: "options"
};

class Args;

struct Command {
    std::string name;        // "bench"
    std::string summary;     // one line for `xinfer --help`
    std::string usage;       // the synopsis after "xinfer <name> "; lines after the first are indented to match
    std::string positional;  // the positional arguments' placeholder ("IMAGE..."); empty: none accepted
    std::vector<Option> options;
    std::function<int(const Args&)> run;
    std::string notes;  // optional text after the option list
};

// An argument that reads as an option rather than a value: "-x", "--xyz", but not "-", "-1" or "-.5".
inline bool looks_like_option(const std::string& a) {
    return a.size() >= 2 && a[0] == '-' && !std::isdigit(static_cast<unsigned char>(a[1])) && a[1] != '.';
}

inline bool is_help(const std::string& a) { return a == "-h" || a == "--help"; }

class Args {
public:
    std::vector<std::string> positional;

    // `words` are the arguments after the subcommand's name. "--" ends the options.
    Args(const Command& cmd, const std::vector<std::string>& words) : cmd_(cmd) {
        bool options_done = false;
        for (size_t i = 0; i < words.size(); ++i) {
            const std::string& a = words[i];
            if (options_done || !looks_like_option(a)) {
                positional.push_back(a);
                continue;
            }
            if (a == "--") {
                options_done = true;
                continue;
            }
            const Option& opt = declared(a, "unknown option '" + a + "'");
            auto& got = given_[opt.name];
            if (!got.empty() && !opt.repeatable) throw UsageError(a + " given more than once");
            if (opt.value.empty()) {
                got.push_back("");
            } else {
                if (i + 1 >= words.size() || looks_like_option(words[i + 1]))
                    throw UsageError(a + " needs a value (" + opt.value + ")");
                got.push_back(words[++i]);
            }
        }
        if (cmd.positional.empty() && !positional.empty())
            throw UsageError("unexpected argument '" + positional.front() + "'");
    }

    // Whether the flag or value option was given.
    bool has(const std::string& name) const { return !values(name).empty(); }
    // The value of an option, or `fallback` when it was not given.
    std::string get(const std::string& name, const std::string& fallback = "") const {
        const auto& v = values(name);
        return v.empty() ? fallback : v.back();
    }
    std::string need(const std::string& name) const {
        const auto& v = values(name);
        if (v.empty()) throw UsageError("missing " + name);
        return v.back();
    }
    // Every value of a repeatable option, in command-line order.
    std::vector<std::string> all(const std::string& name) const { return values(name); }

    // An integer option in [lo, hi], or `fallback` when it was not given.
    int get_int(const std::string& name, int fallback, int lo, int hi) const {
        if (!has(name)) return fallback;
        const std::string v = get(name);
        size_t used = 0;
        long n = 0;
        try {
            n = std::stol(v, &used);
        } catch (const std::exception&) {
            used = 0;
        }
        if (v.empty() || used != v.size() || n < lo || n > hi)
            throw UsageError(name + " must be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) +
                             "], got '" + v + "'");
        return int(n);
    }

    bool declares(const std::string& name) const { return find(name) != nullptr; }

private:
    const Command& cmd_;
    std::map<std::string, std::vector<std::string>> given_;

    const Option* find(const std::string& name) const {
        for (const auto& o : cmd_.options)
            if (o.name == name) return &o;
        return nullptr;
    }
    const Option& declared(const std::string& name, const std::string& message) const {
        const Option* o = find(name);
        if (!o) throw UsageError(message);
        return *o;
    }
    // The values given for a declared option; asking for an undeclared one is a bug in the subcommand.
    const std::vector<std::string>& values(const std::string& name) const {
        if (!find(name)) throw std::logic_error("xinfer " + cmd_.name + " reads undeclared option " + name);
        static const std::vector<std::string> none;
        const auto it = given_.find(name);
        return it == given_.end() ? none : it->second;
    }
};

// Whether the words after the subcommand ask for its help (before any "--").
inline bool wants_help(const std::vector<std::string>& words) {
    for (const auto& w : words) {
        if (w == "--") return false;
        if (is_help(w)) return true;
    }
    return false;
}

// "usage: xinfer NAME SYNOPSIS", the summary, the options (those without a section first, with -h), the notes.
inline void print_help(const Command& cmd, std::FILE* out) {
    const std::string prefix = "usage: xinfer " + cmd.name + " ";
    std::string usage = cmd.usage;
    for (size_t at = usage.find('\n'); at != std::string::npos; at = usage.find('\n', at + 1))
        usage.insert(at + 1, prefix.size(), ' ');
    std::fprintf(out, "%s%s\n%s\n\noptions:\n", prefix.c_str(), usage.c_str(), cmd.summary.c_str());
    size_t width = 10;
    for (const auto& o : cmd.options) width = std::max(width, o.name.size() + 1 + o.value.size());
    auto line = [&](const std::string& left, const std::string& help) {
        std::fprintf(out, "  %-*s  %s\n", int(width), left.c_str(), help.c_str());
    };
    std::vector<std::string> sections;
    for (const auto& o : cmd.options) {
        if (!o.section.empty()) {
            if (std::find(sections.begin(), sections.end(), o.section) == sections.end()) sections.push_back(o.section);
            continue;
        }
        line(o.value.empty() ? o.name : o.name + " " + o.value, o.help + (o.repeatable ? " (repeatable)" : ""));
    }
    line("-h, --help", "print this help");
    for (const auto& section : sections) {
        std::fprintf(out, "\n%s:\n", section.c_str());
        for (const auto& o : cmd.options)
            if (o.section == section)
                line(o.value.empty() ? o.name : o.name + " " + o.value, o.help + (o.repeatable ? " (repeatable)" : ""));
    }
    if (!cmd.notes.empty()) std::fprintf(out, "\n%s", cmd.notes.c_str());
}

}  // namespace xinfer::cli
