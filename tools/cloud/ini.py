"""Minimal stand-ins for devstack's ini helpers (inc/ini-config).

    ini.py set FILE SECTION OPTION VALUE         # iniset
    ini.py add FILE SECTION OPTION VALUE [...]   # iniadd: add missing values
    ini.py get FILE SECTION OPTION               # iniget (first value)
    ini.py getall FILE SECTION OPTION            # iniget_multiline

Edits lines in place (comments, order and repeated options are kept), so
oslo.config's multi-valued options work as in devstack.
"""

import re
import sys


def _read(path):
    try:
        with open(path) as f:
            return f.read().splitlines()
    except FileNotFoundError:
        return []


def _section_span(lines, section):
    start = None
    for i, line in enumerate(lines):
        m = re.match(r'^\s*\[([^\]]+)\]\s*$', line)
        if m:
            if start is not None:
                return start, i
            if m.group(1) == section:
                start = i + 1
    return (start, len(lines)) if start is not None else (None, None)


def _option_lines(lines, start, end, option):
    pat = re.compile(r'^\s*%s\s*=' % re.escape(option))
    return [i for i in range(start, end) if pat.match(lines[i])]


def values(lines, section, option):
    start, end = _section_span(lines, section)
    if start is None:
        return []
    return [lines[i].split('=', 1)[1].strip() for i in _option_lines(lines, start, end, option)]


def set_values(lines, section, option, vals):
    start, end = _section_span(lines, section)
    if start is None:
        if lines and lines[-1].strip():
            lines.append('')
        lines.append('[%s]' % section)
        start = end = len(lines)
    found = _option_lines(lines, start, end, option)
    new = ['%s = %s' % (option, v) for v in vals]
    at = found[0] if found else end
    for i in reversed(found):
        del lines[i]
    lines[at:at] = new
    return lines


def main(argv):
    cmd, path, section, option = argv[:4]
    lines = _read(path)
    if cmd == 'get':
        vals = values(lines, section, option)
        print(vals[0] if vals else '')
        return 0
    if cmd == 'getall':
        print('\n'.join(values(lines, section, option)))
        return 0
    if cmd == 'set':
        set_values(lines, section, option, [argv[4]])
    elif cmd == 'add':
        vals = values(lines, section, option)
        set_values(lines, section, option, vals + [v for v in argv[4:] if v not in vals])
    else:
        sys.exit('unknown command %s' % cmd)
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
