"""Fixtures shared by the layer tests: the grasping camera and its renders."""

import numpy as np
import pybullet
import pytest


@pytest.fixture(scope='session')
def camera():
  """OpenGL (view, projection) of the KUKA grasping scene's camera."""
  view = pybullet.computeViewMatrixFromYawPitchRoll(
      (0.23, 0.2, 0.54), 1.0, 245.0, -56.0, 0.0, 2)
  projection = pybullet.computeProjectionMatrixFOV(20.0, 1.0, 0.01, 10.0)
  return view, projection


@pytest.fixture(scope='session')
def render_segmentation(camera):
  """A function: visual shapes at positions -> (size, size) body-id mask.

  Each shape is (createVisualShape keyword arguments, base position); the
  mask holds the body id drawn at every pixel (-1 for the background) in
  pybullet's own renderer through `camera`.
  """

  def render(shapes, size):
    client = pybullet.connect(pybullet.DIRECT)
    try:
      for shape_kwargs, position in shapes:
        shape = pybullet.createVisualShape(physicsClientId=client,
                                           **shape_kwargs)
        pybullet.createMultiBody(baseVisualShapeIndex=shape,
                                 basePosition=position,
                                 physicsClientId=client)
      _, _, _, _, mask = pybullet.getCameraImage(
          size, size, camera[0], camera[1],
          renderer=pybullet.ER_TINY_RENDERER, physicsClientId=client)
    finally:
      pybullet.disconnect(client)
    return np.reshape(mask, (size, size))

  return render
