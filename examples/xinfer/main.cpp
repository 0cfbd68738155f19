// xinfer: the command-line tool. Scripts and benchmarks drive its forms; keep them stable (README.md, "The CLI").
// One file per subcommand; each defines a Command (name, summary, usage, options, handler) and this file
// dispatches to it. A new subcommand is its file, its entry in kCommands and its source in CMakeLists.txt.
#include <cstdio>
#include <string>
#include <vector>

#include "args.hpp"
#include "xinfer/core/error.hpp"

namespace xinfer::cli {

Command run_command();
Command bench_command();
Command inspect_command();
Command profile_command();
Command classify_command();
Command convert_command();
Command quantize_command();
Command validate_command();
#ifdef XINFER_CLI_SERVE
Command serve_command();
#endif

namespace {

const std::vector<Command>& commands() {
    static const std::vector<Command> kCommands = {
        run_command(),      bench_command(),   inspect_command(),  profile_command(),
        classify_command(), convert_command(), quantize_command(), validate_command(),
#ifdef XINFER_CLI_SERVE
        serve_command(),
#endif
    };
    return kCommands;
}

const Command* find_command(const std::string& name) {
    for (const auto& c : commands())
        if (c.name == name) return &c;
    return nullptr;
}

void print_overview(std::FILE* out) {
    std::fprintf(out, "usage: xinfer <command> [options]\n\ncommands:\n");
    for (const auto& c : commands()) std::fprintf(out, "  %-9s %s\n", c.name.c_str(), c.summary.c_str());
    std::fprintf(out,
                 "\n'xinfer <command> --help' (or 'xinfer help <command>') lists a command's options.\n"
                 "Exit status: 0 done, 1 failed, 2 a mistake on the command line.\n");
}

int dispatch(const Command& cmd, const std::vector<std::string>& words) {
    if (wants_help(words)) {
        print_help(cmd, stdout);
        return 0;
    }
    try {
        return cmd.run(Args(cmd, words));
    } catch (const UsageError& e) {
        std::fprintf(stderr, "xinfer %s: error: %s\n(see 'xinfer %s --help')\n", cmd.name.c_str(), e.what(),
                     cmd.name.c_str());
        return 2;
    } catch (const std::exception& e) {  // xinfer::Error and anything else: a message, never a crash
        std::fprintf(stderr, "xinfer %s: error: %s\n", cmd.name.c_str(), e.what());
        return 1;
    }
}

}  // namespace
}  // namespace xinfer::cli

int main(int argc, char** argv) {
    using namespace xinfer::cli;
    const std::vector<std::string> words(argv + std::min(argc, 2), argv + argc);
    const std::string name = argc < 2 ? "" : argv[1];
    if (name.empty() || is_help(name)) {
        print_overview(name.empty() ? stderr : stdout);
        return name.empty() ? 2 : 0;
    }
    if (name == "help") {
        if (words.empty()) {
            print_overview(stdout);
            return 0;
        }
        if (const Command* cmd = find_command(words[0])) return dispatch(*cmd, {"--help"});
    }
    if (const Command* cmd = find_command(name)) return dispatch(*cmd, words);
    std::fprintf(stderr, "xinfer: unknown command '%s'\n", name == "help" ? words[0].c_str() : name.c_str());
    print_overview(stderr);
    return 2;
}
