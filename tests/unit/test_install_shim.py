"""pwnetizer-install-shim: the paste pipeline edit."""

import configparser

from nova_pwnetizer.cmd import install_shim

PASTE = """[composite:openstack_compute_api_v21]
use = call:nova.api.auth:pipeline_factory_v21
keystone = cors compute_req_id faultwrap authtoken keystonecontext osapi_compute_app_v21

[filter:keystonecontext]
paste.filter_factory = nova.api.auth:NovaKeystoneContext.factory
"""


def test_filter_goes_after_keystonecontext_once():
    once = install_shim.add_paste_filter(PASTE)
    twice = install_shim.add_paste_filter(once)
    assert once == twice
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(once)
    words = parser['composite:openstack_compute_api_v21']['keystone'].split()
    assert words[words.index('keystonecontext') + 1] == 'pwnetizer_clone'
    assert words.count('pwnetizer_clone') == 1
    assert parser['filter:pwnetizer_clone']['paste.filter_factory'] == install_shim.FACTORY


def test_install_paste_rewrites_the_file(tmp_path):
    path = tmp_path / 'api-paste.ini'
    path.write_text(PASTE)
    assert install_shim.install_paste(str(path)) is True
    assert install_shim.install_paste(str(path)) is False
    assert 'pwnetizer_clone' in path.read_text()


def test_shim_source_reexports_the_driver():
    assert 'from nova_pwnetizer.virt.driver import PwnetizerDriver' in \
        install_shim.shim_source()
