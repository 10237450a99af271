"""Installs t2r, preprocessors and research: `pip install -e .`."""

import os

import setuptools

_HERE = os.path.dirname(os.path.abspath(__file__))


def _version() -> str:
  scope = {}
  with open(os.path.join(_HERE, 't2r', 'version.py')) as f:
    exec(f.read(), scope)  # pylint: disable=exec-used
  return scope['__version__']


with open(os.path.join(_HERE, 'README.md')) as f:
  _LONG_DESCRIPTION = f.read()

setuptools.setup(
    name='t2r',
    version=_version(),
    description=('Tensor2Robot-style robot learning on TensorFlow 2: '
                 'spec-declared models, tf.data pipelines, SavedModel policies.'),
    long_description=_LONG_DESCRIPTION,
    long_description_content_type='text/markdown',
    packages=setuptools.find_packages(
        include=['t2r', 't2r.*', 'preprocessors', 'preprocessors.*',
                 'research', 'research.*']),
    package_data={'research': ['*/configs/*.gin']},
    python_requires='>=3.10,<3.13',
    install_requires=[
        'tensorflow~=2.21.0',
        'tf-keras~=2.21.0',
        # tf.summary needs it; TensorFlow 2.21 no longer installs it.
        'tensorboard~=2.21.0',
        'gin-config>=0.5.0',
        'numpy>=1.26',
        # The committed t2r/proto/t2r_pb2.py was generated for protobuf 7.35.
        'protobuf>=7.35.1,<8',
        'absl-py>=2.1',
        'pillow>=10',
        # Progress bars and summary tables of the jobs (TensorFlow's Keras
        # already installs it).
        'rich>=13',
    ],
    extras_require={
        'sim': ['pybullet>=3.2.6', 'gymnasium>=1.0'],
        # RLDS / Open X-Embodiment episodes (t2r.data.RLDSInputGenerator,
        # t2r.data.export_rlds_dataset). tensorflow-datasets imports
        # importlib_resources without declaring it.
        'rlds': ['tensorflow-datasets~=4.9.10', 'importlib_resources>=5'],
        'dev': ['pytest>=8', 'pytest-timeout>=2.3', 'pytest-xdist>=3.5',
                'grpcio-tools==1.85.1',
                'psutil>=5.9'],
    },
    entry_points={
        'console_scripts': [
            't2r=t2r.bin.console_scripts:t2r_main',
            't2r-flywheel=t2r.bin.console_scripts:t2r_flywheel',
            't2r-spec-demo=t2r.bin.console_scripts:t2r_spec_demo',
            't2r-train=t2r.bin.console_scripts:t2r_train',
        ],
    },
    classifiers=[
        'Programming Language :: Python :: 3.10',
        'Programming Language :: Python :: 3.11',
        'Programming Language :: Python :: 3.12',
        'License :: OSI Approved :: Apache Software License',
    ],
)
