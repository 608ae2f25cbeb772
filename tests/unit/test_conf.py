"""oslo.config options: defaults, overrides, the sample generator."""

import subprocess
import sys

from oslo_config import cfg

from nova_pwnetizer.conf import engine as engine_conf
from nova_pwnetizer.virt.engine import options


def _conf(**overrides):
    conf = cfg.ConfigOpts()
    engine_conf.register_opts(conf)
    conf([])
    for name, value in overrides.items():
        conf.set_override(name, value, group='pwnetizer')
    return conf


def test_options_from_config_with_call_overrides():
    conf = _conf(downtime_limit_ms=80, port_min=50000, port_max=50100, auto_converge=False)
    opts = options.CloneOptions.from_conf(conf.pwnetizer, name='x', bandwidth_mib=None)
    assert (opts.name, opts.downtime_limit_ms, opts.port_range, opts.auto_converge) == (
        'x', 80, (50000, 50100), False)
    assert opts.bandwidth_mib == 0  # None means "use the config"
    opts.validate()


def test_sample_config_lists_every_option(tmp_path):
    out = tmp_path / 'sample.conf'
    subprocess.run([sys.executable, '-m', 'oslo_config.generator', '--namespace',
                    'nova_pwnetizer', '--output-file', str(out)], check=True)
    text = out.read_text()
    assert '[pwnetizer]' in text
    for opt in engine_conf.OPTS:
        assert '#%s = ' % opt.dest in text
